#!/usr/bin/env bash
# Writes new public API into each project's PublicAPI.Unshipped.txt: run it after adding public API on purpose,
# then review the diff. (The build fails with RS0016 for public API that is in neither file.)
set -euo pipefail
cd "$(dirname "$0")/.."

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
dotnet build Strata.slnx -c Release -nologo -clp:ErrorsOnly -p:StrataReadyToRun=false >"$log" 2>&1 || true
grep "error RS0016" "$log" | sed -E "s/.*Symbol '(.*)' is not part of the declared public API.*\[(.*)\.csproj\]$/\2\t\1/" | sort -u |
    while IFS=$'\t' read -r project symbol; do
        echo "$symbol" >>"$(dirname "$project")/PublicAPI.Unshipped.txt"
    done
for file in src/*/PublicAPI.Unshipped.txt; do
    { echo '#nullable enable'; grep -v '^#nullable' "$file" | sort -u; } >"$file.tmp" && mv "$file.tmp" "$file"
done
git diff --stat -- 'src/*/PublicAPI.Unshipped.txt'
