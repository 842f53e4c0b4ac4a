@echo off
rem databricks-oidc-token: prints a fresh Databricks access token from this job's local metadata service.
rem In cmd.exe scripts: call databricks-oidc-token
rem Self-hosted agents often have node only in their own folder: say so instead of "not recognized".
where node >nul 2>nul
if errorlevel 1 (
  echo databricks-oidc-token: node is not on PATH; install Node.js 20 or later, e.g. with actions/setup-node 1>&2
  exit /b 127
)
rem %~dp0 is this folder, with its trailing backslash; the quotes keep spaces in the path.
node "%~dp0databricks-oidc-token.cjs" %*
exit /b %ERRORLEVEL%
