"""Regenerates tests/infra/data/ from the public sources (run by scripts/refresh-infra-types.sh).

- azure-types.json: the bicep-types-az definitions (Azure/bicep-types-az, generated/**/types.json) of every
  resource type@apiVersion the Bicep files use, trimmed to what those types reach (descriptions dropped),
  plus every API version the snapshot knows for each used type (to tell when a version falls behind).
- avm-modules.json: parameters, definitions and outputs of each AVM module version used (its published
  main.json, Azure/bicep-registry-modules at the module's release tag) and the newest released version.
- schemas/: azd's azure.yaml schema (Azure/azure-dev), SchemaStore's host.json and local.settings.json.

Each file records its source repository and commit. Sources are bare git directories given as arguments
(or cloned with --filter=blob:none when absent), so a refresh is reproducible from a commit.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DATA = HERE / "data"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.infra import bicep_model as bm  # noqa: E402

REPOS = {
    "types": "Azure/bicep-types-az",
    "avm": "Azure/bicep-registry-modules",
    "azd": "Azure/azure-dev",
    "schemastore": "SchemaStore/schemastore",
}
SCHEMAS = {  # vendored name -> (repo key, path in the repo)
    "azure.yaml.json": ("azd", "schemas/v1.0/azure.yaml.json"),
    "host.json": ("schemastore", "src/schemas/json/host.json"),
    "local.settings.json": ("schemastore", "src/schemas/json/local.settings.json"),
}
AVM_PREFIX = "br/public:"
SCHEMA_URLS = {  # where each schema is published (the base of its relative $refs)
    "azure.yaml.json": "https://raw.githubusercontent.com/Azure/azure-dev/main/schemas/v1.0/azure.yaml.json",
    "host.json": "https://json.schemastore.org/host.json",
    "local.settings.json": "https://json.schemastore.org/local.settings.json",
}
# Remote $refs of the schemas, served from the same repositories (the tests resolve them offline).
REMOTE_REFS = {
    "https://raw.githubusercontent.com/Azure/azure-dev/main/": "azd",
    "https://json.schemastore.org/": "schemastore",
}


def git(git_dir: Path, *args: str) -> str:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], check=True, capture_output=True,
                          text=True).stdout


def used_types(infra: Path) -> tuple[set[str], set[str]]:
    """(resource 'type@version's, AVM 'path:version's) used by the Bicep files."""
    types, modules = set(), set()
    for path in sorted(infra.rglob("*.bicep")):
        bf = bm.load(path)
        types |= {f"{r.type}@{r.api_version}" for r in bf.resources.values()}
        modules |= {m.path[len(AVM_PREFIX):] for m in bf.modules.values() if m.path.startswith(AVM_PREFIX)}
    return types, modules


def _trim(types: list[dict], root: int, out: list[dict], seen: dict[int, int]) -> int:
    """Copy types[root] and what it references into `out`, renumbering refs; returns its new index."""
    if root in seen:
        return seen[root]
    seen[root] = len(out)
    out.append({})
    node = {k: v for k, v in types[root].items() if k != "description"}

    def fix(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"$ref"} and value["$ref"].startswith("#/"):
                return {"$ref": f"#/{_trim(types, int(value['$ref'][2:]), out, seen)}"}
            return {k: fix(v) for k, v in value.items() if k != "description"}
        if isinstance(value, list):
            return [fix(v) for v in value]
        return value

    out[seen[root]] = fix(node)
    return seen[root]


def refresh_types(git_dir: Path, wanted: set[str]) -> dict:
    commit = git(git_dir, "rev-parse", "HEAD").strip()
    files = [p for p in git(git_dir, "ls-tree", "-r", "--name-only", "HEAD", "generated/").splitlines()
             if p.endswith("/types.json")]
    out: list[dict] = []
    resources: dict[str, int] = {}
    versions: dict[str, list[str]] = {}
    for name in sorted(wanted):
        rtype, _, version = name.partition("@")
        namespace = rtype.split("/")[0].lower()
        candidates = [p for p in files if p.split("/")[-3] == namespace and p.split("/")[-2] == version]
        found = False
        for path in candidates:
            data = json.loads(git(git_dir, "show", f"HEAD:{path}"))
            idx = next((i for i, t in enumerate(data) if t.get("$type") == "ResourceType"
                        and t["name"].lower() == name.lower()), None)
            if idx is None:
                continue
            seen: dict[int, int] = {}
            resources[data[idx]["name"]] = _trim(data, idx, out, seen)
            found = True
            break
        dirs = sorted({"/".join(p.split("/")[:3]) for p in files if p.split("/")[-3] == namespace})
        pattern = f'"name": *"{re.escape(rtype)}@[0-9a-z-]*"'
        hits = git(git_dir, "grep", "-i", "-o", "-h", "-E", pattern, "HEAD", "--",
                   *[f"{d}/*/types.json" for d in dirs]) if dirs else ""
        versions[rtype.lower()] = sorted({h.rsplit("@", 1)[1].rstrip('"') for h in hits.splitlines()})
        if not found:
            print(f"warning: {name} is not in {REPOS['types']}@{commit[:12]}", file=sys.stderr)
    return {"source": {"repo": REPOS["types"], "commit": commit}, "resources": resources,
            "versions": versions, "types": out}


def refresh_avm(git_dir: Path, wanted: set[str]) -> dict:
    tags = git(git_dir, "tag", "--list", "avm/*").split()
    modules, latest = {}, {}
    for ref in sorted(wanted):
        path, _, version = ref.rpartition(":")
        released = sorted((t.rsplit("/", 1)[1] for t in tags
                           if t.rsplit("/", 1)[0] == path and re.fullmatch(r"\d+\.\d+\.\d+", t.rsplit("/", 1)[1])),
                          key=lambda v: tuple(map(int, v.split("."))))
        latest[path] = released[-1] if released else None
        tag = f"{path}/{version}"
        if tag not in tags:
            print(f"warning: no release tag {tag}", file=sys.stderr)
            continue
        main = json.loads(git(git_dir, "show", f"{tag}:{path}/main.json"))
        modules[ref] = {"commit": git(git_dir, "rev-list", "-n1", tag).strip(),
                        "parameters": main.get("parameters", {}), "definitions": main.get("definitions", {}),
                        "outputs": {k: {"type": v.get("type")} for k, v in main.get("outputs", {}).items()}}
        for p in modules[ref]["parameters"].values():
            p.get("metadata", {}).pop("description", None)
    return {"source": {"repo": REPOS["avm"]}, "modules": modules, "latest": latest}


def ensure_git_dir(key: str, given: str | None, cache: Path) -> Path:
    if given:
        return Path(given)
    target = cache / REPOS[key].replace("/", "+")
    if not target.exists():
        subprocess.run(["git", "clone", "--bare", "--filter=blob:none",
                        f"https://github.com/{REPOS[key]}.git", str(target)], check=True)
    else:
        subprocess.run(["git", f"--git-dir={target}", "fetch", "--tags", "origin", "+HEAD:HEAD"], check=True)
    return target


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for key, repo in REPOS.items():
        ap.add_argument(f"--{key}", metavar="GIT_DIR", help=f"bare git dir of {repo} (default: clone it)")
    ap.add_argument("--cache", default=str(ROOT / ".cache" / "infra-types"))
    args = ap.parse_args(argv)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    dirs = {k: ensure_git_dir(k, getattr(args, k), cache) for k in REPOS}
    types, modules = used_types(ROOT / "infra")
    DATA.mkdir(exist_ok=True)
    (DATA / "azure-types.json").write_text(json.dumps(refresh_types(dirs["types"], types), separators=(",", ":")))
    (DATA / "avm-modules.json").write_text(json.dumps(refresh_avm(dirs["avm"], modules), indent=1))
    (DATA / "schemas").mkdir(exist_ok=True)
    sources = {}
    for name, (key, path) in SCHEMAS.items():
        (DATA / "schemas" / name).write_text(git(dirs[key], "show", f"HEAD:{path}"))
        sources[name] = {"repo": REPOS[key], "path": path, "commit": git(dirs[key], "rev-parse", "HEAD").strip()}
    refs: dict[str, str] = {}
    pending = [(SCHEMA_URLS[name], (DATA / "schemas" / name).read_text()) for name in SCHEMAS]
    while pending:
        base, text = pending.pop()
        for ref in re.findall(r'"\$ref"\s*:\s*"([^"#][^"#]*)', text):
            url = urljoin(base, ref)
            prefix = next((p for p in REMOTE_REFS if url.startswith(p)), None)
            if prefix is None or url in refs:
                continue
            key = REMOTE_REFS[prefix]
            path = url[len(prefix):] if key == "azd" else f"src/schemas/json/{url[len(prefix):]}"
            found = git(dirs[key], "show", f"HEAD:{path}")
            refs[url] = "refs/" + path.replace("/", "+")
            (DATA / "schemas" / "refs").mkdir(exist_ok=True)
            (DATA / "schemas" / refs[url]).write_text(found)
            pending.append((url, found))
    sources["remote_refs"] = refs
    (DATA / "schemas" / "SOURCES.json").write_text(json.dumps(sources, indent=1) + "\n")
    print(f"{len(types)} resource types, {len(modules)} AVM modules, {len(SCHEMAS)} schemas -> {DATA}")


if __name__ == "__main__":
    main()
