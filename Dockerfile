# syntax=docker/dockerfile:1
# The command-line tool as a container image (ghcr.io/databricks-oidc-login/databricks-oidc-login),
# for Kubernetes sidecars and CIs that run jobs in containers. It is the release's single file on
# Node: no RUN step, no package manager at runtime, nothing written outside volumes, so it runs
# as a non-root user with a read-only root filesystem. Dependabot (docker) keeps the digest fresh.
ARG BASE=node:24-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d
FROM ${BASE}
LABEL org.opencontainers.image.source="https://github.com/databricks-oidc-login/databricks-oidc-login" \
      org.opencontainers.image.description="databricks-oidc-login: a Databricks credential from a workload's own OIDC identity" \
      org.opencontainers.image.licenses="Apache-2.0"
# The committed bundle, which CI checks is what the sources build; its shebang is `env node`.
COPY --chmod=0755 packages/cli/dist/databricks-oidc-login.cjs /usr/local/bin/databricks-oidc-login
# The base image's `node` user, by number, so Kubernetes can check runAsNonRoot.
USER 1000:1000
ENTRYPOINT ["databricks-oidc-login"]
CMD ["--help"]
