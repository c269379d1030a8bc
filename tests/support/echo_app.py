"""A Functions app that echoes what the host handed its function: to test the local host's request rules."""
import json

import azure.functions as func

app = func.FunctionApp()
ANON = func.AuthLevel.ANONYMOUS


@app.route(route="health", methods=["GET"], auth_level=ANON)
def health(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("{}", mimetype="application/json")


@app.route(route="Echo/{name}", methods=["GET", "POST"], auth_level=ANON)
def echo(req: func.HttpRequest) -> func.HttpResponse:
    seen = {"method": req.method, "params": dict(req.params), "route": dict(req.route_params),
            "body": req.get_body().decode("utf-8", "replace"), "content_length": req.headers.get("content-length")}
    return func.HttpResponse(json.dumps(seen), mimetype="application/json")
