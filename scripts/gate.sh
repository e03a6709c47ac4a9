#!/usr/bin/env bash
# The gate before the push: build an image, certify it with the conformance harness, push it only if it passed.
# In the spirit of AWS's build_and_push.sh, with a certification between the build and the push.
#
#   scripts/gate.sh IMAGE_NAME [BUILD_CONTEXT] [options] [-- extra docker build arguments]
#
#   IMAGE_NAME        the repository to push to, e.g. decision-trees or team/decision-trees (ECR allows slashes)
#   BUILD_CONTEXT     the docker build context (default: .)
#   --test-dir DIR    the harness's test-dir (default: test-dirs/<last part of IMAGE_NAME>, if it exists)
#   --registry R      HOST[:PORT][/PATH] to push to (or the env SMC_REGISTRY); default: your account's ECR
#                     registry, ACCOUNT.dkr.ecr.REGION.amazonaws.com, from `aws sts get-caller-identity` and
#                     `aws configure get region` (AWS_REGION / AWS_DEFAULT_REGION first; default us-west-2)
#   --tag TAG         the version tag (default: `git describe --always --dirty` of BUILD_CONTEXT, else the UTC
#                     date); the image is pushed as :TAG and :latest
#   --dockerfile F    the Dockerfile (default: BUILD_CONTEXT/Dockerfile)
#   --no-build        certify and push the local image IMAGE_NAME[:LOCAL_TAG] (default :latest) instead of building
#   --reports DIR     where the JSON report and junit.xml go (default: conformance-reports, or SMC_REPORTS_DIR)
#   -- ARGS...        passed to `docker build` (e.g. -- --build-arg BASE_IMAGE=python:3.11-slim --platform linux/amd64)
#
# Environment: SMC_PYTEST_ARGS extra harness arguments (e.g. "--max-examples=5"); SMC_VENV a virtualenv whose
# bin/python runs the harness (default .venv of this checkout, else python3); SMC_REGISTRY as --registry.
# ECR only (a registry named *.dkr.ecr.*.amazonaws.com): the repository is created if missing and the engine
# logs in with `aws ecr get-login-password`. Any other registry: log in yourself first (`docker login`), if needed.
#
# Exit codes: 0 certified and pushed (the pushed REGISTRY/IMAGE_NAME@sha256:... is the only line on stdout);
#             1 certification failed: the failed MUST/SHOULD clauses are listed, nothing was pushed;
#             2 the gate could not do its job: a usage, build, harness, AWS or registry error, or a check that
#               crashed so that a clause could not be judged (it says which; a push that fails half-way says
#               which tags did reach the registry).
# A SHOULD clause waived by the test-dir's policy is a warning: it is listed and does not block the push.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

say() { printf 'gate: %s\n' "$*" >&2; }
die() { say "$*"; say "nothing was pushed."; exit 2; }
usage() {
  sed -n '4,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 0
}
usage_error() { say "$*"; say "usage: scripts/gate.sh IMAGE_NAME [BUILD_CONTEXT] [--test-dir DIR] [--registry HOST[:PORT]] [--tag TAG] [--dockerfile F] [--no-build] [--reports DIR] [-- docker build args]  (--help for more)"; exit 2; }

# ---------------------------------------------------------------------------------------------- arguments
image_name="" context="" test_dir="" registry=${SMC_REGISTRY:-} tag="" dockerfile="" build=true
reports=${SMC_REPORTS_DIR:-conformance-reports}
build_args=()
need_value() { [ "$2" -ge 2 ] || usage_error "$1 needs a value"; }
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage ;;
    --test-dir) need_value "$1" $#; test_dir=$2; shift 2 ;;
    --test-dir=*) test_dir=${1#*=}; shift ;;
    --registry) need_value "$1" $#; registry=$2; shift 2 ;;
    --registry=*) registry=${1#*=}; shift ;;
    --tag) need_value "$1" $#; tag=$2; shift 2 ;;
    --tag=*) tag=${1#*=}; shift ;;
    --dockerfile|-f) need_value "$1" $#; dockerfile=$2; shift 2 ;;
    --dockerfile=*) dockerfile=${1#*=}; shift ;;
    --reports) need_value "$1" $#; reports=$2; shift 2 ;;
    --reports=*) reports=${1#*=}; shift ;;
    --no-build) build=false; shift ;;
    --) shift; build_args=("$@"); break ;;
    -*) usage_error "unknown option: $1" ;;
    *)
      if [ -z "$image_name" ]; then image_name=$1
      elif [ -z "$context" ]; then context=$1
      else usage_error "unexpected argument: $1 (docker build arguments go after --)"
      fi
      shift ;;
  esac
done
[ -n "$image_name" ] || usage_error "IMAGE_NAME is required"

# IMAGE_NAME[:LOCAL_TAG]: a tag is only meaningful with --no-build (the local image to certify) or as the default --tag.
repo=$image_name local_tag=""
if [[ $image_name == *:* ]]; then repo=${image_name%:*}; local_tag=${image_name##*:}; fi
name_re='^[a-z0-9]+([._-]+[a-z0-9]+)*(/[a-z0-9]+([._-]+[a-z0-9]+)*)*$'
tag_re='^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$'
[[ $repo =~ $name_re ]] || usage_error "IMAGE_NAME '$repo' is not a valid repository name (lowercase letters, digits, '.', '_', '-', '/')"
[ -z "$local_tag" ] || [[ $local_tag =~ $tag_re ]] || usage_error "'$local_tag' in $image_name is not a valid tag"
[ -z "$tag" ] || [[ $tag =~ $tag_re ]] || usage_error "--tag '$tag' is not a valid tag ([A-Za-z0-9_][A-Za-z0-9_.-], at most 128)"
case $registry in
  *://*) usage_error "--registry is HOST[:PORT][/PATH], without a scheme: got $registry" ;;
esac
registry=${registry%/}
if $build; then
  [ -z "$local_tag" ] || [ -z "$tag" ] || [ "$local_tag" = "$tag" ] || usage_error "IMAGE_NAME has the tag $local_tag and --tag says $tag: give one"
  tag=${tag:-$local_tag}
  context=${context:-.}
  [ -d "$context" ] || usage_error "the build context $context is not a folder"
  if [ -n "$dockerfile" ]; then
    [ -f "$dockerfile" ] || usage_error "the Dockerfile $dockerfile does not exist"
  else
    [ -f "$context/Dockerfile" ] || usage_error "$context/Dockerfile does not exist: pass --dockerfile F"
  fi
else
  [ "${#build_args[@]}" -eq 0 ] || usage_error "--no-build takes no docker build arguments (got: ${build_args[*]})"
  [ -z "$dockerfile" ] || usage_error "--no-build and --dockerfile exclude each other"
fi

# The version tag: --tag, else git describe of the sources, else the date.
if [ -z "$tag" ]; then
  tag=$(git -C "${context:-.}" describe --always --dirty 2>/dev/null || true)
  tag=$(printf '%s' "$tag" | tr -c 'A-Za-z0-9_.-' '-' | cut -c1-128)
  [[ $tag =~ $tag_re ]] || tag=$(date -u +%Y%m%d-%H%M%S)
fi

# ---------------------------------------------------------------------------------------------- tools
if ! docker info >/dev/null 2>&1; then
  if [ -x "$root/scripts/ensure-docker.sh" ]; then
    "$root/scripts/ensure-docker.sh" || die "no Docker engine answers (scripts/ensure-docker.sh failed, above)."
  else
    die "no Docker engine answers 'docker info': start one (or set DOCKER_HOST)."
  fi
fi

venv=${SMC_VENV:-$root/.venv}
if [ -x "$venv/bin/python" ]; then py=$venv/bin/python; else py=$(command -v python3 || true); fi
[ -n "$py" ] || die "no Python: set SMC_VENV to a virtualenv with the harness, or install python3."
if ! (cd "$root" && "$py" -c 'import conformance.plugin') >/dev/null 2>&1; then
  die "$py cannot import the conformance harness: run 'pip install -e .' in $root (or scripts/bootstrap.sh), or set SMC_VENV."
fi
extra_pytest=()
if [ -n "${SMC_PYTEST_ARGS:-}" ]; then read -r -a extra_pytest <<<"$SMC_PYTEST_ARGS"; fi

if [ -z "$test_dir" ]; then
  guess=$root/test-dirs/${repo##*/}
  [ -d "$guess" ] || guess=test-dirs/${repo##*/}
  [ -d "$guess" ] || usage_error "no --test-dir, and neither $root/test-dirs/${repo##*/} nor ./test-dirs/${repo##*/} exists: pass --test-dir DIR (see the README, 'Writing a test-dir')"
  test_dir=$guess
fi
[ -d "$test_dir" ] || usage_error "the test-dir $test_dir is not a folder"
test_dir=$(cd "$test_dir" && pwd)
mkdir -p "$reports" || die "cannot create the reports folder $reports"
reports=$(cd "$reports" && pwd)

# ---------------------------------------------------------------------------------------------- registry
is_ecr=false region=""
if [ -z "$registry" ]; then
  command -v aws >/dev/null 2>&1 || die "no --registry (nor SMC_REGISTRY) was given, so the gate pushes to ECR, but the aws CLI is not installed (pip install awscli)."
  account=$(aws sts get-caller-identity --query Account --output text 2>/dev/null) || account=""
  [[ $account =~ ^[0-9]{12}$ ]] || die "could not find your AWS account with 'aws sts get-caller-identity' (no credentials, or they expired). Configure them ('aws configure', AWS_PROFILE, or a role), or pass --registry HOST[:PORT] to push somewhere else."
  region=${AWS_REGION:-${AWS_DEFAULT_REGION:-$(aws configure get region 2>/dev/null || true)}}
  region=${region:-us-west-2}
  registry=$account.dkr.ecr.$region.amazonaws.com
fi
registry_host=${registry%%/*}
case ${registry_host%:*} in
  *.dkr.ecr.*.amazonaws.com|*.dkr.ecr.*.amazonaws.com.cn)
    is_ecr=true
    region=$(printf '%s' "$registry_host" | cut -d. -f4)
    command -v aws >/dev/null 2>&1 || die "$registry is ECR, but the aws CLI is not installed (pip install awscli)." ;;
esac
target=$registry/$repo
say "image $repo, version $tag -> $target:$tag and $target:latest$($is_ecr && printf ' (ECR, %s)' "$region")"

# ---------------------------------------------------------------------------------------------- build
if $build; then
  local_ref=$repo:$tag
  if [ -z "${DOCKER_BUILDKIT:-}" ] && ! docker buildx version >/dev/null 2>&1; then
    export DOCKER_BUILDKIT=0   # no buildx plugin: the legacy builder
  fi
  say "building $local_ref from $context ..."
  cmd=(docker build --force-rm -t "$local_ref")   # --force-rm: a failed build leaves no container behind
  [ -z "$dockerfile" ] || cmd+=(-f "$dockerfile")
  cmd+=(${build_args[@]+"${build_args[@]}"} "$context")
  "${cmd[@]}" >&2 || die "docker build failed (above): fix the build and run the gate again."
else
  local_ref=$repo:${local_tag:-latest}
  docker image inspect "$local_ref" >/dev/null 2>&1 \
    || die "--no-build: the image $local_ref is not in the engine's image store (build it, or drop --no-build)."
fi
image_id=$(docker image inspect --format '{{.Id}}' "$local_ref") || die "cannot inspect $local_ref"
say "certifying $local_ref (${image_id:7:12}) with test-dir $test_dir ..."

# ---------------------------------------------------------------------------------------------- certify
report=$(cd "$root" && "$py" -c 'import sys; from pathlib import Path; from conformance.report import json_path
print(json_path(Path(sys.argv[1]), sys.argv[2]))' "$reports" "$local_ref") || die "the harness cannot name the report"
rm -f "$report" "$reports/junit.xml"
set +e
(cd "$root" && "$py" -m pytest -p no:cacheprovider --image="$local_ref" --test-dir="$test_dir" \
   --conformance-report="$reports" --junitxml="$reports/junit.xml" ${extra_pytest[@]+"${extra_pytest[@]}"}) >&2
rc=$?
set -e

[ -f "$report" ] || die "the harness wrote no report at $report (pytest exit code $rc; its output is above)."
# One line of facts (with the exit code: conformance/verdict.py, the rule the console script uses too), then one
# line per failed (blocking), crashed and warned clause.
summary=$(cd "$root" && "$py" -m conformance.verdict "$report" "$rc") || die "cannot read the report $report"
IFS=$'\t' read -r _ verdict report_id code <<<"$(printf '%s\n' "$summary" | head -n 1)"
[ "$report_id" = "$image_id" ] || die "the report $report is for image $report_id, not $image_id: refusing to push."

list_clauses() {
  while IFS=$'\t' read -r _ id level v reason headline actual; do
    say "  $id [$level] $v: $reason"
    [ -z "$headline" ] || say "      $headline"
    [ -z "$actual" ] || say "      $actual"
  done
}
warned=$(printf '%s\n' "$summary" | awk -F'\t' '$1 == "WARNED"')
if [ -n "$warned" ]; then
  say "warnings (they do not block the push):"
  printf '%s\n' "$warned" | list_clauses
fi
failed=$(printf '%s\n' "$summary" | awk -F'\t' '$1 == "FAILED"')
errored=$(printf '%s\n' "$summary" | awk -F'\t' '$1 == "ERRORED"')
unjudged=$(printf '%s\n' "$summary" | awk -F'\t' '$1 == "UNJUDGED"')
if [ "$code" != 0 ]; then
  if [ "$rc" -gt 1 ]; then
    die "the harness stopped with pytest exit code $rc (a usage or internal error, above); report: $report"
  fi
  if [ -n "$errored" ]; then
    say "the harness could not judge these clauses (a check crashed: a harness or engine problem, not a verdict):"
    printf '%s\n' "$errored" | list_clauses
  fi
  if [ -n "$unjudged" ]; then
    say "the host was too busy to measure these clauses fairly, twice (run the gate again on a quieter host):"
    printf '%s\n' "$unjudged" | list_clauses
  fi
  if [ "$code" = 2 ]; then
    die "certification incomplete for $local_ref; report: $report"
  fi
  say "CERTIFICATION FAILED: $local_ref (${image_id:7:12}) is not pushed. Failed clauses:"
  if [ -n "$failed" ]; then
    printf '%s\n' "$failed" | list_clauses
  else
    say "  (none in the report, which says '$verdict'; pytest exited with $rc: see its output above)"
  fi
  say "report: $report"
  say "junit:  $reports/junit.xml"
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    {
      printf '### Conformance gate: %s refused\n\n| clause | level | verdict | reason |\n| --- | --- | --- | --- |\n' "$repo:$tag"
      printf '%s\n' "$failed" | awk -F'\t' 'NF { printf "| %s | %s | %s | %s |\n", $2, $3, $4, $5 }'
    } >>"$GITHUB_STEP_SUMMARY" || true
  fi
  exit 1
fi
say "CERTIFIED: $local_ref (${image_id:7:12}) passed every MUST and SHOULD clause; report: $report"

# ---------------------------------------------------------------------------------------------- push
if $is_ecr; then
  ecr_repo=${target#"$registry_host"/}
  if ! aws ecr describe-repositories --repository-names "$ecr_repo" --region "$region" >/dev/null 2>&1; then
    say "creating the ECR repository $ecr_repo in $region ..."
    aws ecr create-repository --repository-name "$ecr_repo" --region "$region" >/dev/null \
      || die "could not create the ECR repository $ecr_repo (above): check the role's ecr:CreateRepository permission."
  fi
  aws ecr get-login-password --region "$region" | docker login --username AWS --password-stdin "$registry_host" >&2 \
    || die "could not log in to $registry_host (above): check the role's ecr:GetAuthorizationToken permission."
else
  say "$registry_host is not ECR: no repository creation or ECR login (run 'docker login $registry_host' first if it needs one)."
fi

digest="" pushed=""
tags=("$tag")
[ "$tag" = latest ] || tags+=(latest)
for t in "${tags[@]}"; do
  docker tag "$image_id" "$target:$t" || { say "docker tag $target:$t failed${pushed:+; already pushed:$pushed}."; exit 2; }
  say "pushing $target:$t ..."
  out=$(docker push "$target:$t" 2>&1) || {
    printf '%s\n' "$out" >&2
    say "docker push $target:$t failed (above)${pushed:+; already pushed:$pushed}."
    exit 2
  }
  pushed="$pushed $target:$t"
  printf '%s\n' "$out" >&2
  d=$(printf '%s\n' "$out" | grep -oE 'digest: sha256:[0-9a-f]{64}' | tail -n 1 | cut -d' ' -f2 || true)
  if [ -n "$digest" ] && [ -n "$d" ] && [ "$d" != "$digest" ]; then
    say "warning: $target:$t has the digest $d, $target:$tag has $digest"
  fi
  digest=${digest:-$d}
done
if [ -z "$digest" ]; then
  digest=$(docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$image_id" \
    | grep -F "$target@" | head -n 1 | cut -d@ -f2 || true)
fi
[ -n "$digest" ] || { say "pushed$pushed, but could not find the digest in docker's output."; exit 2; }

say "PUSHED $target:$tag and $target:latest"
say "digest: $target@$digest"
say "report: $report"
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  { echo "image=$target:$tag"; echo "digest=$digest"; echo "reference=$target@$digest"; echo "report=$report"; } >>"$GITHUB_OUTPUT" || true
fi
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  # shellcheck disable=SC2016  # the backquotes are Markdown
  printf '### Conformance gate: %s certified and pushed\n\n`%s@%s`\n' "$repo:$tag" "$target" "$digest" >>"$GITHUB_STEP_SUMMARY" || true
fi
printf '%s@%s\n' "$target" "$digest"
