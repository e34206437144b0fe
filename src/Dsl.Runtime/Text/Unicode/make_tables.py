#!/usr/bin/env python3
"""Writes normalization.bin.gz: the Unicode data the tokenizers' NFC, NFD, NFKC and NFKD need (UnicodeNormalization.cs), so that
normalization does not depend on ICU (which .NET's globalization-invariant mode, common in NativeAOT apps, leaves out).
The tokenizers library normalizes with Unicode 9.0's tables (its unicode-normalization-alignments crate), so the data is
that of the characters assigned in 9.0 (Perl's Unicode::UCD: In=9.0), read from Python's unicodedata (14.0 in Debian 12's
Python 3.11): Unicode's stability policy keeps an assigned character's decompositions and combining class fixed, so they
are 9.0's; a character assigned later normalizes as itself, as in the library. Also writes
tests/Dsl.Tests/Fixtures/unicode-assigned.json: the code points assigned in 9.0, as ranges (the tests compare with .NET's
ICU normalization on them).

    /usr/bin/python3 make_tables.py

Layout (little-endian int32 throughout, then gzip): the Unicode version as three ints; the canonical full decompositions
(count, then per entry: code point, length, code points); the compatibility full decompositions where they differ from the
canonical ones (same layout); the non-zero canonical combining classes (count, then code point and class); the primary
composites (count, then first, second, composite). Hangul syllables are left to the algorithm."""
import gzip
import json
import struct
import subprocess
import unicodedata

VERSION = "9.0"
# the characters assigned in VERSION, as Perl's inversion list: starts of runs in, out, in, …
inversion = [int(x) for x in subprocess.run(["perl", "-MUnicode::UCD=prop_invlist", "-e", f'print join(",", prop_invlist("In={VERSION}"))'],
                                            check=True, capture_output=True, text=True).stdout.split(",")]
IN_VERSION = set()
for i in range(0, len(inversion), 2):
    IN_VERSION.update(range(inversion[i], inversion[i + 1] if i + 1 < len(inversion) else 0x110000))

S_BASE, S_COUNT = 0xAC00, 11172


def hangul(cp):
    return S_BASE <= cp < S_BASE + S_COUNT


canonical, compatibility, classes, composites = [], [], [], []
assigned, start = [], None
for cp in range(0x110000):
    c = chr(cp)
    # assigned in VERSION: Perl's Present_In also counts noncharacters and surrogates, which are no characters
    is_assigned = cp in IN_VERSION and unicodedata.category(c) not in ("Cn", "Cs")
    if is_assigned and start is None:
        start = cp
    if not is_assigned and start is not None:
        assigned.append([start, cp - 1])
        start = None
    if hangul(cp) or not is_assigned:
        continue
    nfd, nfkd = unicodedata.normalize("NFD", c), unicodedata.normalize("NFKD", c)
    if nfd != c:
        canonical.append((cp, [ord(x) for x in nfd]))
    if nfkd != nfd:
        compatibility.append((cp, [ord(x) for x in nfkd]))
    if unicodedata.combining(c):
        classes.append((cp, unicodedata.combining(c)))
    d = unicodedata.decomposition(c)
    if d and not d.startswith("<"):
        parts = [int(p, 16) for p in d.split()]
        # a primary composite: its two-part decomposition composes back to it (not excluded, not a singleton)
        if len(parts) == 2 and unicodedata.normalize("NFC", chr(parts[0]) + chr(parts[1])) == c:
            composites.append((parts[0], parts[1], cp))
if start is not None:
    assigned.append([start, 0x10FFFF])

ints = [int(x) for x in (VERSION + ".0").split(".")]
for table in (canonical, compatibility):
    ints.append(len(table))
    for cp, seq in table:
        ints += [cp, len(seq)] + seq
ints.append(len(classes))
for cp, ccc in classes:
    ints += [cp, ccc]
ints.append(len(composites))
for a, b, c in composites:
    ints += [a, b, c]
with open("normalization.bin.gz", "wb") as f:
    f.write(gzip.compress(struct.pack(f"<{len(ints)}i", *ints), mtime=0))
with open("../../../../tests/Dsl.Tests/Fixtures/unicode-assigned.json", "w") as f:
    json.dump({"unicode": VERSION + ".0", "ranges": assigned}, f)
print(VERSION, "from", unicodedata.unidata_version, len(canonical), "canonical,", len(compatibility), "compatibility,", len(classes), "classes,", len(composites), "composites")
