"""Writes tests/data/github-openapi.json: the response schemas and examples of the REST
endpoints reviewbot calls, and the request body schemas of those it writes to, taken from
GitHub's own OpenAPI description (npm @octokit/openapi).

The cassettes are written, not recorded: tests/test_cassette_shapes.py validates every GitHub
body in them against these schemas, and tests/make_cassettes.py builds bodies from these
examples, so a shape we invent by mistake fails the suite. Every body reviewbot sends while a
test replays a cassette is checked against the request schemas (tests/request_shapes.py). To
refresh:

    npm pack @octokit/openapi@23.0.2 && tar xzf octokit-openapi-23.0.2.tgz \\
        package/generated/api.github.com.json
    .venv/bin/python -m tests.extract_openapi package/generated/api.github.com.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "data" / "github-openapi.json"
SOURCE = "@octokit/openapi 23.0.2, generated/api.github.com.json"
ENDPOINTS = [
    ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}", "200"),
    ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews", "200"),
    ("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews", "200"),
    ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/files", "200"),
    ("GET", "/repos/{owner}/{repo}/compare/{basehead}", "200"),
    ("GET", "/repos/{owner}/{repo}/contents/{path}", "200"),
    ("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission", "200"),
    ("POST", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", "201"),
    ("GET", "/user", "200"),
    ("GET", "/repos/{owner}/{repo}/pulls/comments/{comment_id}", "200"),
    ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/comments", "200"),
    ("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies", "201"),
    ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments", "201"),
    ("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}", "200"),
    ("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments", "200"),
]
# Endpoints that answer with a redirect (no body): the status and the documented Location.
REDIRECTS = [("GET", "/repos/{owner}/{repo}/tarball/{ref}", "302")]
# The endpoints reviewbot sends a JSON body to (GraphQL is checked against its own schema).
REQUESTS = [
    ("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"),
    ("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies"),
    ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
    ("POST", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"),
]
EXAMPLES = [
    "pull-request-review",
    "diff-entry-items",
    "commit-comparison",
    "content-file",
    "private-user",
    "simple-user",
    "repository-collaborator-permission-response-if-user-has-admin-permissions",
    "reaction",
    "pull-request-review-comment",
    "issue-comment",
    "issue-comment-items",
]


def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    schemas = spec["components"]["schemas"]

    def deref(node: Any, seen: tuple[str, ...] = ()) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                name = ref.rsplit("/", 1)[1]
                if name in seen:  # a recursive schema: accept any object there
                    return {"type": "object"}
                return deref(schemas[name], (*seen, name))
            out = {
                k: deref(v, seen)
                for k, v in node.items()
                if k not in ("example", "examples", "description", "format", "title")
            }
            if out.pop("nullable", False):
                if isinstance(out.get("type"), str):
                    out["type"] = [out["type"], "null"]
                    if "enum" in out:
                        out["enum"] = [*out["enum"], None]
                else:
                    out = {"anyOf": [out, {"type": "null"}]}
            return out
        if isinstance(node, list):
            return [deref(v, seen) for v in node]
        return node

    responses = {}
    for method, path, status in ENDPOINTS:
        response = spec["paths"][path][method.lower()]["responses"][status]
        schema = response["content"]["application/json"]["schema"]
        responses[f"{method} {path}"] = {"status": int(status), "schema": deref(schema)}
    requests = {}
    for method, path in REQUESTS:
        body = spec["paths"][path][method.lower()]["requestBody"]
        schema = closed(deref(body["content"]["application/json"]["schema"]))
        requests[f"{method} {path}"] = {"required": body.get("required", False), "schema": schema}
    redirects = {}
    for method, path, status in REDIRECTS:
        location = spec["paths"][path][method.lower()]["responses"][status]["headers"]["Location"]
        redirects[f"{method} {path}"] = {"status": int(status), "location": location["example"]}
    examples = {name: spec["components"]["examples"][name]["value"] for name in EXAMPLES}
    doc = {
        "source": SOURCE,
        "responses": responses,
        "redirects": redirects,
        "requests": requests,
        "examples": examples,
    }
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes)")


def closed(schema: Any) -> Any:
    """The schema with every object closed to properties it does not name: GitHub ignores a
    field it does not know, so a misspelt one (`commitid`) would otherwise pass silently."""
    if isinstance(schema, list):
        return [closed(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: closed(v) for k, v in schema.items()}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


if __name__ == "__main__":
    main(sys.argv[1])
