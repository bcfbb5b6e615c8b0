"""The checks on the zip itself: names, duplicates, compression, bombs, integrity, links, sizes,
permissions.  Each is a function of the ``Archive`` (and what reading it found) alone."""

from __future__ import annotations

import re

from ..package import BOOTSTRAP
from .model import (FAIL, LAMBDA_UNZIP_ERROR, MAX_LISTED, REPACKAGE, UNZIPPED_LIMIT, WARN,
                    ZIPPED_UPLOAD_LIMIT, Check, listing, mode_str, more, ok, q)
from .zipread import BOMB_RATIO, Archive, resolve_link


def zip_checks(z: Archive) -> list[Check]:
    """Every check on the zip itself, in the order a report lists them."""
    return [check_paths(z), check_duplicates(z), check_compression(z), check_bomb(z),
            check_integrity(z), check_symlinks(z), *check_sizes(z), check_permissions(z)]


def check_paths(z: Archive) -> Check:
    bad, odd = [], []
    for e in z.entries:
        name = e.name
        parts = re.split(r"[/\\]", name)
        if not name or "\0" in name:
            bad.append((name, "an empty or NUL-containing name"))
        elif name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name):
            bad.append((name, "an absolute path"))
        elif ".." in parts:
            bad.append((name, "a '..' component"))
        elif "\\" in name:
            odd.append(name)
    if bad:
        first = "; ".join(f"{q(n)} ({why})" for n, why in bad[:MAX_LISTED])
        return Check(
            "zip-paths", FAIL,
            f"entries that would unpack outside the function's directory: {first}{more(bad)}",
            "Lambda unpacks into /var/task: the upload is rejected or the entry lands elsewhere "
            f"({LAMBDA_UNZIP_ERROR})",
            "zip only paths relative to the zip's root, with no '..': " + REPACKAGE,
        )
    if odd:
        return Check(
            "zip-paths", WARN,
            f"{listing(odd)} use{'s' if len(odd) == 1 else ''} '\\' as a folder separator (a zip made "
            "on Windows, e.g. by Compress-Archive)",
            "Lambda's unzip on Linux keeps '\\' as part of the file name: 'a\\b' is one file at the "
            "root, not b inside a",
            f"use '/' as the separator: {REPACKAGE}",
        )
    return ok("zip-paths", "every entry is a relative path inside the zip")


def check_duplicates(z: Archive) -> Check:
    counts: dict[str, list[str]] = {}
    for e in z.entries:
        counts.setdefault(e.key, []).append(e.name)
    dups = [names for names in counts.values() if len(names) > 1]
    if dups:
        desc = "; ".join(f"{q(names[0])} appears {len(names)} times" for names in dups[:MAX_LISTED])
        return Check(
            "zip-duplicates", FAIL, f"duplicate entries: {desc}",
            "which copy Lambda unpacks is not defined (unzip tools keep the first, the last, or stop)",
            f"rebuild the zip instead of appending to it (`zip -u` adds copies): {REPACKAGE}",
        )
    return ok("zip-duplicates", "no two entries share a name")


def check_compression(z: Archive) -> Check:
    bad = z.findings.unsupported
    if bad:
        return Check(
            "zip-compression", FAIL, "; ".join(bad[:MAX_LISTED]) + more(bad)
            + ": gbl reads only stored and deflate entries (what every unzip reads), so it cannot "
            "check inside",
            f"Lambda may fail to unpack it: {LAMBDA_UNZIP_ERROR}",
            f"zip without a password, with deflate: {REPACKAGE}",
        )
    return ok("zip-compression", "every entry is stored or deflated, none encrypted")


def check_bomb(z: Archive) -> Check:
    bombs = z.findings.bombs
    if bombs:
        return Check(
            "zip-bomb", FAIL,
            f"a zip bomb: {'; '.join(bombs[:MAX_LISTED])} (not inflated)",
            f"Lambda rejects it or runs out of space unpacking it ({LAMBDA_UNZIP_ERROR})",
            f"zip the real files: {REPACKAGE}",
        )
    return ok("zip-bomb", f"no entry expands more than {BOMB_RATIO}:1 and no entries overlap")


def check_integrity(z: Archive) -> Check:
    problems = z.findings.problems
    if problems:
        return Check(
            "zip-integrity", FAIL,
            "corrupt or inconsistent entries: " + "; ".join(problems[:MAX_LISTED]) + more(problems),
            LAMBDA_UNZIP_ERROR,
            f"make the zip again (a copy or upload may have been cut short): {REPACKAGE}",
        )
    if not z.findings.inflated:
        return ok("zip-integrity", "headers agree (data not inflated: the zip is over the size limit)")
    return ok("zip-integrity", f"every entry's headers agree and its data inflates to its declared "
                               f"size and CRC ({z.total_size} bytes)")


def check_symlinks(z: Archive) -> Check:
    links = [e for e in z.entries if e.is_symlink]
    if not links:
        return ok("zip-symlinks", "no symbolic links")
    escaping, dangling = [], []
    for e in links:
        target, problem = z.link_target(e)
        if problem:
            continue  # zip-integrity / zip-compression already say why it cannot be read
        key, escapes = resolve_link(e.key, target)
        if escapes:
            escaping.append(f"{q(e.name)} -> {q(target)}")
        elif not z.exists(key):
            dangling.append(f"{q(e.name)} -> {q(target)}")
    if escaping:
        return Check(
            "zip-symlinks", FAIL, f"links pointing outside the zip: {', '.join(escaping[:MAX_LISTED])}",
            "the link resolves outside /var/task on Lambda, to whatever is there (usually nothing)",
            "put the file itself in the zip, not a link to it",
        )
    if dangling:
        return Check(
            "zip-symlinks", WARN, f"links to files not in the zip: {', '.join(dangling[:MAX_LISTED])}",
            "opening the link fails with 'no such file or directory' unless a layer provides it",
            "add the target to the zip, or remove the link",
        )
    return ok("zip-symlinks", f"{len(links)} link(s), all to entries inside the zip")


def check_sizes(z: Archive) -> list[Check]:
    out = []
    mib = 1024 * 1024
    zipped = z.size
    if zipped > ZIPPED_UPLOAD_LIMIT:
        out.append(Check(
            "size-zipped", WARN,
            f"the zip is {zipped / mib:.1f} MiB, over the {ZIPPED_UPLOAD_LIMIT // mib} MB limit for "
            "a direct upload",
            "RequestEntityTooLargeException on a direct upload (CreateFunction/UpdateFunctionCode "
            "with the zip inline)",
            "upload the zip to S3 and deploy from there (S3Bucket/S3Key), or make it smaller",
        ))
    else:
        out.append(ok("size-zipped", f"{zipped} bytes zipped (direct-upload limit "
                                     f"{ZIPPED_UPLOAD_LIMIT} bytes)"))
    total = z.total_size
    if total > UNZIPPED_LIMIT:
        biggest = max(z.entries, key=lambda e: e.usize)
        out.append(Check(
            "size-unzipped", FAIL,
            f"the entries declare {total} bytes unzipped, over Lambda's {UNZIPPED_LIMIT}-byte limit "
            f"(largest: {q(biggest.name)}, {biggest.usize} bytes)",
            f"InvalidParameterValueException: Unzipped size must be smaller than {UNZIPPED_LIMIT} bytes",
            "ship less: the limit counts the function's layers too; larger code needs a container image",
        ))
    else:
        out.append(ok("size-unzipped", f"{total} bytes unzipped (limit {UNZIPPED_LIMIT} bytes, "
                                       "layers included)"))
    return out


def check_permissions(z: Archive) -> Check:
    unreadable = []
    for e in z.entries:
        mode = e.unix_mode
        if mode is None or e.is_symlink or e.key == BOOTSTRAP:
            continue
        need = 0o005 if e.is_dir else 0o004
        if mode & need != need:
            unreadable.append(f"{q(e.name)} ({mode_str(mode)})")
    if unreadable:
        return Check(
            "zip-permissions", WARN,
            f"not readable by every user: {', '.join(unreadable[:MAX_LISTED])}" + more(unreadable),
            "Lambda runs the function as a user that does not own the files: opening them fails "
            "with 'permission denied'",
            "give files mode 0644 (0755 if executable) and folders 0755 before zipping",
        )
    return ok("zip-permissions", "every file is world-readable and every folder world-searchable")
