@echo off
rem databricks-oidc-token: prints a fresh Databricks access token from this job's local metadata service.
rem %~dp0 is this folder, with its trailing backslash; the quotes keep spaces in the path.
node "%~dp0databricks-oidc-token.cjs" %*
exit /b %ERRORLEVEL%
