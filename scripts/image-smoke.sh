#!/usr/bin/env bash
# Builds the CLI's container image from the production Dockerfile and shows that `serve` in it feeds
# the real Databricks SDK: the image runs read-only as user 1000 with `serve --url-file` against
# `npm run emulators`, and test/e2e/sdk-me.mjs on the host logs in with metadata-service auth
# through the URL it wrote. Then SIGTERM must stop it with exit 0 and remove the URL file.
#
# No registry image is pulled: the base is a minimal Debian trixie rootfs with Debian's nodejs
# (20.x), made by mmdebstrap from Debian's archive and passed to the Dockerfile as BASE. The
# released image's base (node:24-bookworm-slim by digest) is not what this runs.
#
# Needs podman and mmdebstrap (Debian: apt-get install podman mmdebstrap), `npm ci` done, and
# root or a rootless podman setup. Not part of `npm test` or CI. See CONTRIBUTING.md.
#
#   IMAGE_SMOKE_KEEP=1         keep the base image (about 170 MB) for the next run
#   IMAGE_SMOKE_MIRROR=URL     the Debian mirror for mmdebstrap (its default otherwise)
#   IMAGE_SMOKE_RUNTIME=NAME   podman's OCI runtime (default: runc where installed, since crun
#                              refuses hosts with hybrid cgroups, as in our sandboxes)
set -euo pipefail

cd "$(dirname "$0")/.."
for tool in podman mmdebstrap node; do
  command -v "$tool" >/dev/null || { echo "image-smoke: $tool is not installed; skipped" >&2; exit 2; }
done
[ -d node_modules/@databricks/sdk-experimental ] || { echo "image-smoke: run npm ci first" >&2; exit 2; }

BASE=localhost/databricks-oidc-login-smoke-base:trixie
IMAGE=localhost/databricks-oidc-login:smoke
NAME=databricks-oidc-login-smoke-$$
work=$(mktemp -d)
emu_pgid=''

runtime=${IMAGE_SMOKE_RUNTIME:-}
if [ -z "$runtime" ] && command -v runc >/dev/null; then runtime=runc; fi
# Explicit ulimits: podman's defaults (1048576 open files) cannot be set where the engine lacks
# CAP_SYS_RESOURCE, and these are plenty for one Node process.
run_args=(--ulimit nofile=4096:4096 --ulimit nproc=4096:4096)
[ -n "$runtime" ] && run_args+=(--runtime "$runtime")

cleanup() {
  podman rm -f "$NAME" >/dev/null 2>&1 || true
  [ -n "$emu_pgid" ] && kill -TERM -- "-$emu_pgid" 2>/dev/null || true
  podman rmi -f "$IMAGE" >/dev/null 2>&1 || true
  [ "${IMAGE_SMOKE_KEEP:-}" = 1 ] || podman rmi -f "$BASE" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

if ! podman image exists "$BASE"; then
  echo "image-smoke: making the Debian trixie + nodejs base with mmdebstrap" >&2
  mmdebstrap --quiet --variant=essential --include=nodejs \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    trixie "$work/rootfs.tar" ${IMAGE_SMOKE_MIRROR:+"$IMAGE_SMOKE_MIRROR"}
  podman import --quiet "$work/rootfs.tar" "$BASE" >/dev/null
  rm -f "$work/rootfs.tar"
fi
base_node=$(podman run --rm "${run_args[@]}" --entrypoint node "$BASE" --version)
echo "image-smoke: base node $base_node" >&2

podman build --quiet --build-arg "BASE=$BASE" -t "$IMAGE" -f Dockerfile . >/dev/null

# The emulators in their own process group, so that all of npm's children stop with it.
setsid npm run --silent emulators >"$work/emu.out" 2>"$work/emu.err" &
emu_pgid=$!
for _ in $(seq 100); do grep -q '^# Ctrl-C' "$work/emu.out" && break; sleep 0.2; done
grep -q '^# Ctrl-C' "$work/emu.out" || { cat "$work/emu.err" >&2; echo "image-smoke: emulators did not start" >&2; exit 1; }
# shellcheck disable=SC1090 # the emulated GitLab job's variables, single-quoted by the emulators
eval "$(grep '^export ' "$work/emu.out")"

mkdir "$work/run" && chown 1000:1000 "$work/run"
podman run -d --name "$NAME" "${run_args[@]}" --read-only --user 1000:1000 --network host \
  --cap-drop all --security-opt no-new-privileges \
  -e GITLAB_CI -e DATABRICKS_OIDC_TOKEN -e DATABRICKS_HOST -e DATABRICKS_CLIENT_ID \
  -v "$work/run:/run/oidc-login" "$IMAGE" serve --url-file /run/oidc-login/url >/dev/null
for _ in $(seq 100); do [ -s "$work/run/url" ] && break; sleep 0.2; done
[ -s "$work/run/url" ] || { podman logs "$NAME" >&2; echo "image-smoke: no URL file" >&2; exit 1; }

# The SDK sees only the workspace and the URL: no ID token, no client ID.
me=$(env -i PATH="$PATH" HOME="$work" DATABRICKS_HOST="$DATABRICKS_HOST" \
  DATABRICKS_AUTH_TYPE=metadata-service DATABRICKS_METADATA_SERVICE_URL="$(cat "$work/run/url")" \
  node test/e2e/sdk-me.mjs)
[ "$me" = "{\"userName\":\"$DATABRICKS_CLIENT_ID\"}" ] || { echo "image-smoke: SDK said $me" >&2; exit 1; }

podman stop -t 10 "$NAME" >/dev/null
code=$(podman inspect "$NAME" --format '{{.State.ExitCode}}')
[ "$code" = 0 ] || { podman logs "$NAME" >&2; echo "image-smoke: serve exited $code on SIGTERM" >&2; exit 1; }
[ ! -e "$work/run/url" ] || { echo "image-smoke: serve left its URL file behind" >&2; exit 1; }
echo "image-smoke: ok: the image's serve (read-only, user 1000) fed the Databricks SDK as $me"
