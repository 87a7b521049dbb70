"""scripts/deploy_aws.sh without AWS: bad arguments exit 2 with the usage, and --dry-run prints
every command (and runs none: an ``aws`` or ``curl`` on PATH that fails if called proves it)."""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "deploy_aws.sh"


@pytest.fixture
def trap_path(tmp_path: Path) -> str:
    """A PATH whose aws, curl and chalice fail loudly: a dry run must call none of them."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("aws", "curl", "chalice", "cfn-lint"):
        tool = bin_dir / name
        tool.write_text(f"#!/bin/sh\necho 'trap called {name}' >&2\nexit 97\n")
        tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    return f"{bin_dir}:{os.environ['PATH']}"


def deploy(*args: str, path: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DEPLOY_"))}
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        env={**base, "PATH": path, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def commands(stdout: str) -> list[list[str]]:
    return [shlex.split(line[2:]) for line in stdout.splitlines() if line.startswith("+ ")]


def test_dry_run_prints_every_step_in_order(trap_path: str) -> None:
    result = deploy("dev", "--dry-run", "--bucket", "my-artifacts", path=trap_path)
    assert result.returncode == 0, result.stderr
    assert "trap called" not in result.stderr
    steps = commands(result.stdout)
    assert steps[0] == [".venv/bin/python", "scripts/package_stack.py", "--stage", "dev"]
    assert steps[1] == [".venv/bin/cfn-lint", "build/dev/sam.json"]
    assert steps[2][:2] == ["aws", "sts"]
    secrets = [s[s.index("--secret-id") + 1] for s in steps if s[:2] == ["aws", "secretsmanager"]]
    assert secrets == [
        "triggers-api/dev/cursor-signing-key",
        "triggers-api/dev/webhook-secrets-key",
    ]
    package = next(s for s in steps if s[:3] == ["aws", "cloudformation", "package"])
    assert package[package.index("--template-file") + 1] == "build/dev/sam.json"
    assert package[package.index("--s3-bucket") + 1] == "my-artifacts"
    assert package[package.index("--output-template-file") + 1] == "build/dev/packaged.json"
    deploy_cmd = next(s for s in steps if s[:3] == ["aws", "cloudformation", "deploy"])
    assert deploy_cmd[deploy_cmd.index("--template-file") + 1] == "build/dev/packaged.json"
    assert deploy_cmd[deploy_cmd.index("--stack-name") + 1] == "triggers-api-dev"
    capabilities = deploy_cmd[deploy_cmd.index("--capabilities") + 1 :][:2]
    assert capabilities == ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]
    assert "--no-fail-on-empty-changeset" in deploy_cmd
    # The stage's parameters go with every deploy: an existing stack would otherwise keep its
    # previous values (awscli sends UsePreviousValue for a parameter not overridden).
    overrides = deploy_cmd[deploy_cmd.index("--parameter-overrides") + 1 :][:3]
    assert overrides == ["Stage=dev", "ProvisionedConcurrency=0", "LogRetentionDays=14"]
    describe = next(s for s in steps if s[:3] == ["aws", "cloudformation", "describe-stacks"])
    assert "Stacks[0].Outputs[?OutputKey=='EndpointURL'].OutputValue" in describe
    assert steps[-1][0] == "curl"
    assert steps[-1][-1] == "ENDPOINT_URL/v1/health"
    assert [s[0] for s in steps].index("curl") > steps.index(deploy_cmd)
    for step in steps[2:-1]:
        assert step[step.index("--region") + 1] == "us-east-1"
    assert "triggers-api-dev would be at ENDPOINT_URL/v1/" in result.stdout


def test_bucket_and_region_from_the_environment(trap_path: str) -> None:
    result = deploy(
        "--dry-run", "prod", path=trap_path, DEPLOY_BUCKET="prod-art", AWS_REGION="eu-west-1"
    )
    assert result.returncode == 0, result.stderr
    steps = commands(result.stdout)
    assert steps[0][-1] == "prod"
    deploy_cmd = next(s for s in steps if s[:3] == ["aws", "cloudformation", "deploy"])
    assert deploy_cmd[deploy_cmd.index("--stack-name") + 1] == "triggers-api-prod"
    assert deploy_cmd[deploy_cmd.index("--s3-bucket") + 1] == "prod-art"
    assert deploy_cmd[deploy_cmd.index("--region") + 1] == "eu-west-1"
    # The command line wins over the environment.
    again = deploy(
        "prod", "--dry-run", "--region", "ap-south-1", "--bucket", "cli-art",
        path=trap_path, DEPLOY_BUCKET="prod-art", AWS_REGION="eu-west-1",
    )  # fmt: skip
    deploy_cmd = next(
        s for s in commands(again.stdout) if s[:3] == ["aws", "cloudformation", "deploy"]
    )
    assert deploy_cmd[deploy_cmd.index("--s3-bucket") + 1] == "cli-art"
    assert deploy_cmd[deploy_cmd.index("--region") + 1] == "ap-south-1"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "STAGE is required"),
        (("--dry-run",), "STAGE is required"),
        (("qa", "--bucket", "b-1"), "unknown STAGE qa"),
        (("local", "--bucket", "b-1"), "unknown STAGE local"),
        (("dev", "prod", "--bucket", "b-1"), "one STAGE only"),
        (("dev",), "an S3 bucket is required"),
        (("dev", "--bucket"), "--bucket needs a value"),
        (("dev", "--bucket", ""), "--bucket needs a value"),
        (("dev", "--bucket", "Bad_Bucket"), "not an S3 bucket name"),
        (("dev", "--bucket", "b-1", "--region"), "--region needs a value"),
        (("dev", "--bucket", "b-1", "--region", "mars"), "not an AWS region"),
        (("dev", "--bucket", "b-1", "--force"), "unknown option --force"),
    ],
)
def test_bad_arguments_exit_2_with_the_usage(
    trap_path: str, args: tuple[str, ...], message: str
) -> None:
    result = deploy(*args, path=trap_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "scripts/deploy_aws.sh STAGE [--dry-run]" in result.stderr
    assert result.stdout == ""


def test_help_prints_the_usage(trap_path: str) -> None:
    result = deploy("--help", path=trap_path)
    assert result.returncode == 0
    assert "--dry-run    print every command, run none" in result.stderr


def test_a_real_run_stops_at_the_first_failing_step(trap_path: str, tmp_path: Path) -> None:
    """Without --dry-run the steps run: here the first AWS call fails (the trap's aws), and the
    script stops there with its status instead of going on to deploy."""
    fake_root = tmp_path / "repo"
    (fake_root / "scripts").mkdir(parents=True)
    (fake_root / ".venv" / "bin").mkdir(parents=True)
    (fake_root / "scripts" / "deploy_aws.sh").write_text(SCRIPT.read_text())
    for name in ("python", "cfn-lint"):
        tool = fake_root / ".venv" / "bin" / name
        tool.write_text(
            f'#!/bin/sh\necho {name} "$@" >> "$(dirname "$0")/calls"\n'
            # package_stack.py --print-parameters answers the stage's parameters.
            'case "$*" in *--print-parameters*)\n'
            '  printf "Stage=dev\\nLogRetentionDays=14\\n";;\n'
            "esac\n"
        )
        tool.chmod(0o755)
    result = subprocess.run(
        ["bash", str(fake_root / "scripts" / "deploy_aws.sh"), "dev", "--bucket", "b-1"],
        env={"PATH": trap_path, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 97
    assert "trap called aws" in result.stderr
    calls = (fake_root / ".venv" / "bin" / "calls").read_text().splitlines()
    assert calls == [
        "python scripts/package_stack.py --stage dev --print-parameters",
        "python scripts/package_stack.py --stage dev",
        "cfn-lint build/dev/sam.json",
    ]
    assert "cloudformation deploy" not in result.stdout.split("aws sts")[1]


def test_provisioned_concurrency_override_reaches_the_deploy(trap_path: str) -> None:
    result = deploy(
        "prod", "--dry-run", "--bucket", "b-1", path=trap_path, PROVISIONED_CONCURRENCY="7"
    )
    assert result.returncode == 0, result.stderr
    deploy_cmd = next(
        s for s in commands(result.stdout) if s[:3] == ["aws", "cloudformation", "deploy"]
    )
    start = deploy_cmd.index("--parameter-overrides") + 1
    assert deploy_cmd[start : start + 3] == [
        "Stage=prod",
        "ProvisionedConcurrency=7",
        "LogRetentionDays=90",
    ]
    bad = deploy(
        "prod", "--dry-run", "--bucket", "b-1", path=trap_path, PROVISIONED_CONCURRENCY="x"
    )
    assert bad.returncode != 0
    assert "PROVISIONED_CONCURRENCY must be a whole number" in bad.stderr
