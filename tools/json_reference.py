#!/usr/bin/env python3
"""Reference decoder for the differential JSON check (spec/json_reference_spec.lua).

Reads cases from stdin, each "<byte length>\\n<bytes>", decodes each with
Python's json module, applies seekrflow's documented rules, and prints one
canonical line per case (the spec prints the same form for core.json_decode):

  error                       the text is not accepted
  null / true / false
  i:<decimal>                 an integral number within 64 bits
  f:<%.17g>                   any other number (inf for beyond the double range)
  s:<hex of the UTF-8 bytes>  a string
  [a,b,...]                   an array (null elements stay)
  {k:v,...}                   an object, keys (as s:) in byte order, null members left out

seekrflow's rules applied here: lone surrogate escapes and ill-formed UTF-8
become U+FFFD; raw control characters in strings are accepted; NaN and
Infinity literals are refused; nesting deeper than MAX_DEPTH and more than
MAX_VALUES values are errors. Argument "nointegers": the Lua has only
doubles (5.1, LuaJIT), so every number goes through a double first.
"""
import json
import sys

MAX_DEPTH = int(sys.argv[1])
MAX_VALUES = int(sys.argv[2])
NO_INTEGERS = len(sys.argv) > 3 and sys.argv[3] == "nointegers"
INT64 = 2 ** 63


def refuse_constant(name):
    raise ValueError("not JSON: " + name)


def fix_string(s):
    # Lone surrogates (Python keeps them) become U+FFFD, as in seekrflow.
    return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in s)


def number(v):
    if isinstance(v, int) and not NO_INTEGERS and -INT64 <= v < INT64:
        return "i:%d" % v
    try:
        f = float(v)
    except OverflowError:  # an integer beyond the double range: +-inf, like strtod
        f = float("inf") if v > 0 else float("-inf")
    if f == f and f not in (float("inf"), float("-inf")) and f == int(f) and -INT64 <= f < INT64:
        return "i:%d" % int(f)
    return "f:%.17g" % f


def canon(v, depth):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return number(v)
    if isinstance(v, str):
        return "s:" + fix_string(v).encode("utf-8").hex()
    if depth + 1 > MAX_DEPTH:
        raise ValueError("too deep")
    if isinstance(v, list):
        return "[" + ",".join(canon(x, depth + 1) for x in v) + "]"
    items = {}
    for k, x in v.items():
        key = fix_string(k).encode("utf-8")
        if x is None:
            items.pop(key, None)
        else:
            items[key] = canon(x, depth + 1)
    return "{" + ",".join("s:" + k.hex() + ":" + items[k] for k in sorted(items)) + "}"


def count_values(text):
    # Every decoded value counts, duplicate keys' too: decode again keeping
    # the pairs (objects become lists of tuples; array elements never are).
    def walk(v):
        if isinstance(v, list):
            if v and isinstance(v[0], tuple):
                return 1 + sum(walk(x[1]) for x in v)
            return 1 + sum(walk(x) for x in v)
        return 1
    return walk(json.loads(text, strict=False, parse_constant=refuse_constant, object_pairs_hook=list))


def main():
    data = sys.stdin.buffer.read()
    pos = 0
    out = []
    while pos < len(data):
        nl = data.index(b"\n", pos)
        n = int(data[pos:nl])
        raw = data[nl + 1:nl + 1 + n]
        pos = nl + 1 + n
        try:
            text = raw.decode("utf-8", errors="replace")
            value = json.loads(text, strict=False, parse_constant=refuse_constant)
            line = canon(value, 0)
            if count_values(text) > MAX_VALUES:
                line = "error"
        except (ValueError, RecursionError):
            line = "error"
        out.append(line)
    sys.stdout.write("\n".join(out) + ("\n" if out else ""))


if __name__ == "__main__":
    main()
