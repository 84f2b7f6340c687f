"""Names the functions in a `perf record -g` profile of Terraform, whose release binary is stripped.

perf cannot name a stripped Go binary's functions, but Go keeps them in `.gopclntab` for its own
stack traces. This reads that table (the layout of Go 1.20 and later: a header with the offsets of
the function-name and function tables, then one (entry, func) pair per function) and prints the
samples of the `terraform` process by function, self and inclusive.

    perf record -F 1999 -g -o perf.data -- terraform plan
    python3 tools/terraform-profile/report.py perf.data [--binary PATH] [--top N]
"""

import argparse
import bisect
import collections
import shutil
import struct
import subprocess

# A non-PIE Go binary maps its file at this address; perf prints addresses as file offsets.
LOAD_ADDRESS = 0x400000


def function_table(path):
    """(entry addresses, names) of every function in the binary's .gopclntab, sorted by address."""
    data = open(path, "rb").read()
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize) for i in range(shnum)]
    names_at = sections[shstrndx][4]

    def section_name(offset):
        start = names_at + offset
        return data[start : data.index(b"\0", start)].decode()

    base = next(s[4] for s in sections if section_name(s[0]) == ".gopclntab")
    (magic,) = struct.unpack_from("<I", data, base)
    if magic not in (0xFFFFFFF0, 0xFFFFFFF1):
        raise SystemExit(f"{path}: not a Go 1.18+ pclntab (magic {magic:#x})")
    nfunc, _, text_start, funcname_off, _, _, _, pcln_off = struct.unpack_from("<8Q", data, base + 8)
    table = base + pcln_off
    entries, names = [], []
    for i in range(nfunc):
        entry_off, func_off = struct.unpack_from("<II", data, table + 8 * i)
        (name_off,) = struct.unpack_from("<i", data, table + func_off + 4)
        start = base + funcname_off + name_off
        entries.append(text_start + entry_off)
        names.append(data[start : data.index(b"\0", start)].decode("utf-8", "replace"))
    return entries, names


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("perf_data")
    parser.add_argument("--binary", default=shutil.which("terraform"))
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    entries, names = function_table(args.binary)

    def name(address):
        i = bisect.bisect_right(entries, address) - 1
        return names[i] if i >= 0 else "?"

    script = subprocess.run(
        ["perf", "script", "-i", args.perf_data, "-F", "comm,tid,ip,sym,dso"],
        capture_output=True, text=True, check=True,
    ).stdout
    by_process, own, within = collections.Counter(), collections.Counter(), collections.Counter()
    for sample in script.split("\n\n"):
        lines = [line for line in sample.strip().split("\n") if line.strip()]
        if not lines:
            continue
        process = lines[0].split()[0]
        by_process[process] += 1
        if process != "terraform":
            continue
        frames = []
        for line in lines[1:]:
            address, rest = (line.split(None, 1) + [""])[:2]
            if args.binary in rest:
                frames.append(name(int(address, 16) + LOAD_ADDRESS))
            else:
                frames.append(rest.rsplit(" (", 1)[0] or "?")
        if frames:
            own[frames[0]] += 1
            for frame in set(frames):
                within[frame] += 1
    total = by_process["terraform"] or 1
    print("samples by process:", ", ".join(f"{p} {n}" for p, n in by_process.most_common(6)))
    for title, counts in (("self", own), ("inclusive", within)):
        print(f"\n{title}, % of terraform's {total} samples")
        for function, n in counts.most_common(args.top):
            print(f"{100 * n / total:5.1f}% {function}")


if __name__ == "__main__":
    main()
