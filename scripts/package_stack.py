#!/usr/bin/env python3
"""Package the app for CloudFormation, offline: ``chalice package`` + the infra/ merge template.

python scripts/package_stack.py --stage dev            # -> build/dev/sam.json + deployment.zip
PROVISIONED_CONCURRENCY=4 python scripts/package_stack.py --stage prod

No AWS call is made (a region and dummy credentials are set if none are); the Lambda
dependencies come from chalice's cache under .chalice/deployments/ once it has been filled.

Two passes. The first packages the app as chalice generates it, to read its API routes; the
second merges ``infra/merge-template.json`` rendered for the stage:

* parameter defaults for the stage (``infra/stages.json``; ``PROVISIONED_CONCURRENCY`` overrides);
* the dashboard body (``infra/dashboard.json``, as the ``Fn::Sub`` string CloudFormation wants);
* every API route's integration pointed at the ``live`` alias of the API function (provisioned
  concurrency is configured on the alias, and only invocations of the alias use it).

It refuses to package without the dashboard's build (``chalicelib/dashboard_static/``, made by
``scripts/bootstrap.sh``): ``chalice package`` ships ``chalicelib/`` as it is, so a package made
without it would serve a 404 at ``/dashboard``.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT / "infra"
DASHBOARD_STATIC = ROOT / "chalicelib" / "dashboard_static"
STAGES = ("dev", "prod")
ALIAS_URI = (
    "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
    "${APIHandlerAliaslive}/invocations"
)


def check_dashboard_bundle(directory: Path = DASHBOARD_STATIC) -> list[str]:
    """The dashboard files the package will ship (page, assets, manifest); exits naming what is
    missing when the build is absent or incomplete."""
    manifest_path = directory / "manifest.json"
    hint = "build it with `make bootstrap` (scripts/bootstrap.sh runs dashboard/build.mjs)"
    try:
        manifest = json.loads(manifest_path.read_text())
        files = [str(manifest["page"]), *manifest["assets"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SystemExit(
            f"the dashboard is not built ({manifest_path} is missing): {hint}"
        ) from exc
    missing = [name for name in files if not (directory / name).is_file()]
    if missing:
        raise SystemExit(f"the dashboard build is incomplete (missing {missing}): {hint}")
    return [manifest_path.name, *files]


def chalice_package(stage: str, out: Path, merge_template: Path | None = None) -> Path:
    env = {**os.environ}
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    env.setdefault("AWS_REGION", env["AWS_DEFAULT_REGION"])
    env.setdefault("AWS_ACCESS_KEY_ID", "packaging-only")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "packaging-only")
    cmd = [str(Path(sys.executable).parent / "chalice"), "package", "--stage", stage]
    if merge_template is not None:
        cmd += ["--merge-template", str(merge_template)]
    cmd.append(str(out))
    subprocess.run(cmd, cwd=ROOT, env=env, check=True)
    return out / "sam.json"


def stage_parameters(stage: str) -> dict[str, Any]:
    params: dict[str, Any] = dict(json.loads((INFRA / "stages.json").read_text())[stage])
    override = os.environ.get("PROVISIONED_CONCURRENCY", "")
    if override:
        if not override.isdigit():
            raise SystemExit(f"PROVISIONED_CONCURRENCY must be a whole number, got {override!r}")
        params["ProvisionedConcurrency"] = int(override)
    return params


def alias_integrations(generated: dict[str, Any]) -> dict[str, Any]:
    """Overrides pointing every route that invokes the API function at its alias."""
    paths = generated["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    overrides: dict[str, Any] = {}
    for path, methods in paths.items():
        for method, spec in methods.items():
            integration = spec.get("x-amazon-apigateway-integration", {})
            uri = json.dumps(integration.get("uri", ""))
            if "APIHandler.Arn" in uri:
                overrides.setdefault(path, {})[method] = {
                    "x-amazon-apigateway-integration": {"uri": {"Fn::Sub": ALIAS_URI}}
                }
    if not overrides:
        raise SystemExit("no API route invokes APIHandler: did chalice change its template?")
    return overrides


def render_merge_template(stage: str, generated: dict[str, Any]) -> dict[str, Any]:
    template: dict[str, Any] = json.loads((INFRA / "merge-template.json").read_text())
    merged = copy.deepcopy(template)
    merged["Parameters"]["Stage"]["Default"] = stage
    for name, value in stage_parameters(stage).items():
        merged["Parameters"][name]["Default"] = value
    dashboard = json.loads((INFRA / "dashboard.json").read_text())
    merged["Resources"]["Dashboard"]["Properties"]["DashboardBody"] = {
        "Fn::Sub": json.dumps(dashboard, separators=(",", ":"))
    }
    body = merged["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    body["paths"] = alias_integrations(generated)
    return merged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stage", required=True, choices=STAGES)
    parser.add_argument("--out", type=Path, help="output directory (default build/<stage>)")
    parser.add_argument(
        "--print-parameters",
        action="store_true",
        help="print the stage's template parameters as Key=Value lines (for "
        "`aws cloudformation deploy --parameter-overrides`) and exit",
    )
    args = parser.parse_args(argv)
    if args.print_parameters:
        print(f"Stage={args.stage}")
        for name, value in stage_parameters(args.stage).items():
            print(f"{name}={value}")
        return 0
    out: Path = args.out or ROOT / "build" / args.stage
    check_dashboard_bundle()
    raw = chalice_package(args.stage, out / "raw")
    generated = json.loads(raw.read_text())
    merge_path = out / "merge-template.json"
    merge_path.write_text(json.dumps(render_merge_template(args.stage, generated), indent=2))
    final = chalice_package(args.stage, out, merge_path)
    print(f"packaged stage {args.stage}: {final}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
