"""``medfuse methods``: list the registered fusion methods and whether each can run here."""

from __future__ import annotations

import json


def add_parser(sub) -> None:
    parser = sub.add_parser("methods", help="list fusion methods (classic and networks) and their status")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(run=run)


def run(args) -> int:
    from ..fusion import get_model_info, list_models

    rows = []
    for name in list_models():
        info = get_model_info(name)
        ok, reason = info.availability()
        rows.append({"name": name, "title": info.title, "kind": info.kind, "available": ok, "reason": reason,
                     "summary": info.summary, "paper": info.paper.cite() if info.paper else "",
                     "input": info.input_contract, "caveat": info.caveat})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        status = "ready" if r["available"] else f"unavailable: {r['reason']}"
        print(f"{r['name']:<{width}}  {r['kind']:<8}  {r['title']} — {r['summary']}  [{status}]")
        if r["caveat"]:
            print(f"{'':<{width}}  {'':<8}  caveat: {r['caveat']}")
    return 0
