#!/usr/bin/env bash
# Deploy one stage of the Triggers API to AWS with CloudFormation.
#
#   scripts/deploy_aws.sh STAGE [--dry-run] [--bucket BUCKET] [--region REGION]
#
#   STAGE        dev or prod; the stack is triggers-api-STAGE
#   --bucket     S3 bucket for the Lambda code and the template (or DEPLOY_BUCKET; required,
#                also with --dry-run, which prints it in the commands)
#   --region     AWS region (or AWS_REGION / AWS_DEFAULT_REGION; default us-east-1)
#   --dry-run    print every command, run none (no AWS call, no build)
#
# Steps: package (scripts/package_stack.py: chalice package + infra/ merge template), cfn-lint,
# check the stage's two Secrets Manager secrets exist, upload the code (aws cloudformation
# package), deploy the change set and wait for it (aws cloudformation deploy), read the stack's
# EndpointURL output, smoke-test GET /v1/health (up to 10 tries, 6 s apart), print the URL.
# The stage's parameters (infra/stages.json; PROVISIONED_CONCURRENCY=N overrides) are passed to
# every deploy as --parameter-overrides: `aws cloudformation deploy` would otherwise keep an
# existing stack's previous values and ignore the template's defaults. Credentials come from
# your usual AWS environment (profile, SSO, role); none are in the repository.
# Exit status: 0 deployed and healthy, 2 bad arguments, anything else: the step that failed.
set -euo pipefail

usage() {
  sed -n '3,10p' "$0" | sed 's/^# \{0,1\}//' >&2
}

die_usage() {
  echo "deploy_aws.sh: $1" >&2
  usage
  exit 2
}

STAGE=""
DRY_RUN=0
BUCKET="${DEPLOY_BUCKET:-}"
REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}"

while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --bucket)
      [ $# -ge 2 ] && [ -n "$2" ] || die_usage "--bucket needs a value"
      BUCKET="$2"
      shift
      ;;
    --region)
      [ $# -ge 2 ] && [ -n "$2" ] || die_usage "--region needs a value"
      REGION="$2"
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    -*) die_usage "unknown option $1" ;;
    *)
      [ -z "$STAGE" ] || die_usage "one STAGE only (got $STAGE and $1)"
      STAGE="$1"
      ;;
  esac
  shift
done

case "$STAGE" in
  dev | prod) ;;
  "") die_usage "STAGE is required" ;;
  *) die_usage "unknown STAGE $STAGE (dev or prod)" ;;
esac
[ -n "$BUCKET" ] || die_usage "an S3 bucket is required (--bucket or DEPLOY_BUCKET)"
[[ "$BUCKET" =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]] || die_usage "not an S3 bucket name: $BUCKET"
[[ "$REGION" =~ ^[a-z]{2}(-[a-z]+)+-[0-9]+$ ]] || die_usage "not an AWS region: $REGION"

cd "$(dirname "$0")/.."
STACK="triggers-api-$STAGE"
BUILD="build/$STAGE"
PREFIX="triggers-api/$STAGE"

# Print a command, shell-quoted so it can be pasted.
show() {
  printf '+'
  printf ' %q' "$@"
  printf '\n'
}

# Print a command, then run it unless --dry-run.
run() {
  show "$@"
  if [ "$DRY_RUN" -eq 0 ]; then
    "$@"
  fi
}

# Stage=..., then each of the stage's parameters as Key=Value (the same values the package
# writes as the template's defaults).
mapfile -t OVERRIDES < <(.venv/bin/python scripts/package_stack.py --stage "$STAGE" --print-parameters)
[ "${#OVERRIDES[@]}" -gt 1 ] || { echo "deploy_aws.sh: no parameters for stage $STAGE" >&2; exit 1; }
run .venv/bin/python scripts/package_stack.py --stage "$STAGE"
run .venv/bin/cfn-lint "$BUILD/sam.json"
run aws sts get-caller-identity --region "$REGION" --output text
for secret in cursor-signing-key webhook-secrets-key; do
  run aws secretsmanager describe-secret --region "$REGION" \
    --secret-id "triggers-api/$STAGE/$secret" --query Name --output text
done
run aws cloudformation package --region "$REGION" \
  --template-file "$BUILD/sam.json" --s3-bucket "$BUCKET" --s3-prefix "$PREFIX" \
  --use-json --output-template-file "$BUILD/packaged.json"
run aws cloudformation deploy --region "$REGION" \
  --template-file "$BUILD/packaged.json" --stack-name "$STACK" \
  --s3-bucket "$BUCKET" --s3-prefix "$PREFIX" \
  --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND \
  --parameter-overrides "${OVERRIDES[@]}" \
  --no-fail-on-empty-changeset
URL_COMMAND=(aws cloudformation describe-stacks --region "$REGION" --stack-name "$STACK"
  --query "Stacks[0].Outputs[?OutputKey=='EndpointURL'].OutputValue" --output text)
show "${URL_COMMAND[@]}"
if [ "$DRY_RUN" -eq 1 ]; then
  URL="ENDPOINT_URL" # what the command above prints, e.g. https://abc123.execute-api.us-east-1.amazonaws.com/api/
else
  URL="$("${URL_COMMAND[@]}")"
  [[ "$URL" == https://* ]] || { echo "deploy_aws.sh: no EndpointURL output on $STACK" >&2; exit 1; }
fi
URL="${URL%/}"
run curl --fail --silent --show-error --max-time 10 \
  --retry 9 --retry-delay 6 --retry-all-errors "$URL/v1/health"
echo
if [ "$DRY_RUN" -eq 1 ]; then
  echo "dry run: nothing was run; $STACK would be at ENDPOINT_URL/v1/"
else
  echo "$STACK deployed: $URL/v1/"
fi
