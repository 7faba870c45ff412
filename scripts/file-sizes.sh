#!/usr/bin/env bash
# Fails if a source file of core, storage or native has more than 700 lines,
# not counting its `#[cfg(test)]` module. Tests, examples and the decoder's
# two sentence tables (core/src/trace/text.rs, tls/text.rs: one line per
# sentence, English and Portuguese) are left out.
set -euo pipefail
cd "$(dirname "$0")/.."
MAX=700
status=0
while IFS= read -r file; do
    # Lines before the first `#[cfg(test)]` line: the file's own code.
    lines=$(awk '/^#\[cfg\(test\)\]/ { exit } { n++ } END { print n + 0 }' "$file")
    if [ "$lines" -gt "$MAX" ]; then
        echo "$file: $lines lines of code (at most $MAX): split it by concept" >&2
        status=1
    fi
done < <(find core/src storage/src native -name '*.rs' \
    -not -path '*/tests/*' -not -path '*/examples/*' \
    -not -path 'core/src/trace/text.rs' -not -path 'core/src/trace/tls/text.rs' | sort)
exit $status
