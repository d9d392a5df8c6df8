#!/usr/bin/env bash
# Fetches MovieLens-100K (GroupLens; Harper & Konstan, "The MovieLens Datasets: History and Context",
# ACM TiiS 5(4), 2015) into DEST_DIR (default: data/ml-100k under the repository root; git-ignored).
#
# Usage: Scripts/fetch-movielens.sh [DEST_DIR]
#
# Produces exactly two files in DEST_DIR:
#   u.data     tab-separated `user item rating timestamp`, 100,000 lines, byte-identical to GroupLens's
#              ml-100k/u.data (sha256 checked, see EXPECTED_SHA256 below)
#   items.tsv  tab-separated `item title year genres` (UTF-8, no header; genres space-separated)
# and prints the absolute DEST_DIR on stdout (progress and errors go to stderr).
#
# Sources, tried in this order until one yields a u.data with the expected sha256:
#   (a) the project's shared data folder: $GOSSIPREC_SHARED_DIR/data/ml-100k, where GOSSIPREC_SHARED_DIR
#       defaults to ../shared next to the repository root (copies u.data and items.tsv);
#   (b) GroupLens: downloads ml-100k.zip ($GOSSIPREC_ML100K_URL overrides the address), takes u.data and
#       converts u.item (latin-1, `id|Title (Year)|date||url|19 genre flags`) into items.tsv;
#   (c) PyPI: `pip download --no-deps recbole==1.2.1` and takes recbole/dataset_example/ml-100k/ out of the
#       wheel (ml-100k.inter is u.data plus one header line; ml-100k.item is items.tsv plus one header).
# Idempotent: if DEST_DIR already holds a valid u.data and an items.tsv, nothing is done.
# Needs: bash, coreutils (or python3 for hashing), curl for (b), python3 with pip for (b)'s unzip and (c).
# Environment: GOSSIPREC_SHARED_DIR, GOSSIPREC_ML100K_URL, GOSSIPREC_PYTHON (default python3),
#              GOSSIPREC_FETCH_TIMEOUT (seconds for the download in (b), default 60; connect timeout 5 s).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EXPECTED_SHA256=06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490
RECBOLE_VERSION=1.2.1
SHARED_DIR="${GOSSIPREC_SHARED_DIR:-$REPO_ROOT/../shared}"
ML100K_URL="${GOSSIPREC_ML100K_URL:-https://files.grouplens.org/datasets/movielens/ml-100k.zip}"
PYTHON="${GOSSIPREC_PYTHON:-python3}"
FETCH_TIMEOUT="${GOSSIPREC_FETCH_TIMEOUT:-60}"

DEST="${1:-$REPO_ROOT/data/ml-100k}"

log() { echo "fetch-movielens: $*" >&2; }

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 "$1" | cut -d' ' -f1
    else
        "$PYTHON" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"
    fi
}

# valid_udata FILE: true when FILE exists and has the expected sha256.
valid_udata() { [[ -f "$1" ]] && [[ "$(sha256_of "$1")" == "$EXPECTED_SHA256" ]]; }

mkdir -p "$DEST"
DEST="$(cd "$DEST" && pwd)"

if valid_udata "$DEST/u.data" && [[ -s "$DEST/items.tsv" ]]; then
    log "already present and valid: $DEST/u.data (sha256 ok), $DEST/items.tsv"
    echo "$DEST"
    exit 0
fi
if [[ -e "$DEST/u.data" ]]; then
    log "existing $DEST/u.data is missing items.tsv or has the wrong sha256; fetching again"
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/fetch-movielens.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# install_from DIR SOURCE: verifies DIR/u.data and moves DIR/u.data, DIR/items.tsv into DEST.
install_from() {
    local dir="$1" source="$2" got
    got="$(sha256_of "$dir/u.data")"
    if [[ "$got" != "$EXPECTED_SHA256" ]]; then
        fail "$source: u.data sha256 is $got, expected $EXPECTED_SHA256"
        return 1
    fi
    if [[ ! -s "$dir/items.tsv" ]]; then
        fail "$source: no items.tsv could be made"
        return 1
    fi
    # (set -e is off inside `f || true`, so every step checks its own status.)
    if ! { cp "$dir/items.tsv" "$DEST/items.tsv.partial" && cp "$dir/u.data" "$DEST/u.data.partial" &&
           chmod 0644 "$DEST/items.tsv.partial" "$DEST/u.data.partial" &&
           mv -f "$DEST/items.tsv.partial" "$DEST/items.tsv" && mv -f "$DEST/u.data.partial" "$DEST/u.data"; }; then
        fail "$source: could not write into $DEST"
        return 1
    fi
    log "installed from $source into $DEST (u.data sha256 ok)"
    echo "$DEST"
    exit 0
}

FAILURES=()
fail() { FAILURES+=("$1"); log "    failed: $1"; }

# (a) shared data folder next to the repository.
try_shared() {
    local src="$SHARED_DIR/data/ml-100k"
    log "(a) trying shared folder $src"
    if [[ ! -f "$src/u.data" || ! -f "$src/items.tsv" ]]; then
        fail "(a) shared folder: $src/u.data or $src/items.tsv not found"
        return 1
    fi
    if ! { mkdir -p "$WORK/a" && cp "$src/u.data" "$src/items.tsv" "$WORK/a/"; }; then
        fail "(a) shared folder: could not copy from $src"
        return 1
    fi
    install_from "$WORK/a" "(a) shared folder $src"
}

# (b) GroupLens download.
try_grouplens() {
    log "(b) trying download $ML100K_URL (connect timeout 5 s, total ${FETCH_TIMEOUT} s)"
    if ! command -v curl >/dev/null 2>&1; then
        fail "(b) GroupLens: curl is not installed"
        return 1
    fi
    if ! command -v "$PYTHON" >/dev/null 2>&1; then
        fail "(b) GroupLens: $PYTHON not found (needed to unzip and convert u.item)"
        return 1
    fi
    mkdir -p "$WORK/b"
    local err
    if ! err="$(curl --fail --silent --show-error --location --connect-timeout 5 --max-time "$FETCH_TIMEOUT" \
                     -o "$WORK/b/ml-100k.zip" "$ML100K_URL" 2>&1)"; then
        fail "(b) GroupLens: download of $ML100K_URL failed: ${err:-curl error}"
        return 1
    fi
    if ! err="$("$PYTHON" - "$WORK/b/ml-100k.zip" "$WORK/b" <<'PY' 2>&1
import sys, zipfile
# u.item: `id|Title (Year)|release date|video date|IMDb url|19 flags` in latin-1; the flag order is u.genre's.
GENRES = ["unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
          "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
          "War", "Western"]
zpath, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(zpath) as z:
    names = {n.rsplit("/", 1)[-1]: n for n in z.namelist()}
    for need in ("u.data", "u.item"):
        if need not in names:
            sys.exit(f"{zpath} has no {need} (members: {sorted(names)[:10]}...)")
    with open(f"{out}/u.data", "wb") as f:
        f.write(z.read(names["u.data"]))
    rows = []
    for lineno, line in enumerate(z.read(names["u.item"]).decode("latin-1").splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) != 5 + len(GENRES):
            sys.exit(f"u.item line {lineno}: expected {5 + len(GENRES)} '|'-separated fields, got {len(fields)}")
        item, title = fields[0], fields[1].strip()
        # Same convention as RecBole's ml-100k.item: the last " (...)" group is the year, the rest the title.
        year = "unknown"
        if title.endswith(")") and " (" in title:
            head, _, tail = title.rpartition(" (")
            title, year = head, tail[:-1]
        if not title:
            title = "unknown"
        genres = [g for g, flag in zip(GENRES, fields[5:]) if flag.strip() == "1"] or ["unknown"]
        rows.append(f"{item}\t{title}\t{year}\t{' '.join(genres)}\n")
    with open(f"{out}/items.tsv", "w", encoding="utf-8") as f:
        f.writelines(rows)
PY
)"; then
        fail "(b) GroupLens: could not unpack/convert the zip: $err"
        return 1
    fi
    install_from "$WORK/b" "(b) GroupLens $ML100K_URL"
}

# (c) the RecBole wheel from PyPI.
try_recbole_wheel() {
    log "(c) trying PyPI: pip download --no-deps recbole==$RECBOLE_VERSION"
    if ! command -v "$PYTHON" >/dev/null 2>&1; then
        fail "(c) PyPI: $PYTHON not found"
        return 1
    fi
    mkdir -p "$WORK/c"
    local err
    if ! err="$("$PYTHON" -m pip download --no-deps --only-binary=:all: --disable-pip-version-check \
                    --timeout 20 --retries 1 -q -d "$WORK/c" "recbole==$RECBOLE_VERSION" 2>&1)"; then
        fail "(c) PyPI: pip download recbole==$RECBOLE_VERSION failed: $(echo "$err" | tail -n 3)"
        return 1
    fi
    local wheel
    wheel="$(ls "$WORK"/c/recbole-*.whl 2>/dev/null | head -n 1 || true)"
    if [[ -z "$wheel" ]]; then
        fail "(c) PyPI: no recbole wheel in $WORK/c after pip download"
        return 1
    fi
    if ! err="$("$PYTHON" - "$wheel" "$WORK/c" <<'PY' 2>&1
import sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
prefix = "recbole/dataset_example/ml-100k/"
with zipfile.ZipFile(wheel) as z:
    for member, target in (("ml-100k.inter", "u.data"), ("ml-100k.item", "items.tsv")):
        try:
            data = z.read(prefix + member)
        except KeyError:
            sys.exit(f"{wheel} has no {prefix}{member}")
        header, sep, body = data.partition(b"\n")
        if not sep or b":token" not in header:
            sys.exit(f"{prefix}{member}: unexpected first line {header[:80]!r} (expected a RecBole header)")
        with open(f"{out}/{target}", "wb") as f:
            f.write(body)
PY
)"; then
        fail "(c) PyPI: could not unpack the recbole wheel: $err"
        return 1
    fi
    install_from "$WORK/c" "(c) PyPI wheel recbole==$RECBOLE_VERSION"
}

try_shared || true
try_grouplens || true
try_recbole_wheel || true

log "FAILED: no source produced MovieLens-100K u.data with sha256 $EXPECTED_SHA256. Tried:"
for f in "${FAILURES[@]}"; do log "  - $f"; done
log "Fix one of them (e.g. set GOSSIPREC_SHARED_DIR to a folder holding data/ml-100k/{u.data,items.tsv})."
exit 1
