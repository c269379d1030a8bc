// DOM helpers of the demo page.

export const $ = (sel) => document.querySelector(sel);

/** Replace the children of `ul` with one <li> per [text, data-attributes]. */
export function listItems(ul, items) {
  ul.replaceChildren(...items.map(([text, attrs]) => {
    const li = document.createElement("li");
    li.textContent = text;
    for (const [k, v] of Object.entries(attrs || {})) li.dataset[k] = v;
    return li;
  }));
}
