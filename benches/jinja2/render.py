#!/usr/bin/env python3
"""The usual alternative to deployc, for benches/run: Python and Jinja2
rendering the same artifacts from the same variables (the plan deployc
decides, written by `cargo bench --bench compile -- --vars DIR`).

The Jinja2 templates are deployc's Handlebars templates translated when this
script starts (as a Jinja2 renderer would load its own templates), with
Handlebars' standalone lines, block scopes and escapers kept, so the output is
byte for byte deployc's: `--check GOLDEN` asserts it.

Usage: render.py VARS.json OUT_DIR [--check GOLDEN_DIR]
"""

import gzip
import json
import os
import re
import sys

import jinja2

TEMPLATES = os.path.join(os.path.dirname(__file__), "..", "..", "src", "render", "templates")
TAG = re.compile(r"\{\{(.*?)\}\}", re.S)


# The escapers of src/render/escape.rs.
def sh(s):
    s = str(s)
    safe = s and not s.startswith(("=", "~", "#")) and all(c.isascii() and (c.isalnum() or c in "_./:@+,%-=") for c in s)
    return s if safe else "'" + s.replace("'", "'\\''") + "'"


def systemd_body(s, dollar):
    out = []
    for c in s:
        if c == "\\":
            out.append("\\\\")
        elif c == '"':
            out.append('\\"')
        elif c == "%":
            out.append("%%")
        elif c == "$" and dollar:
            out.append("$$")
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif ord(c) < 32 or 127 <= ord(c) < 160:
            out.append("\\x%02x" % ord(c))
        else:
            out.append(c)
    return "".join(out)


def bare(s):
    return s and all(c.isascii() and (c.isalnum() or c in "_./:@+=,-") for c in s)


def unit_arg(s):
    s = str(s)
    return s if bare(s) else '"' + systemd_body(s, True) + '"'


def unit_env(key, value):
    a = "%s=%s" % (key, value)
    return a if bare(a) else '"' + systemd_body(a, False) + '"'


def unit_text(s):
    t = "".join("%%" if c == "%" else " " if (ord(c) < 32 or 127 <= ord(c) < 160) else c for c in str(s).strip())
    return t + " " if t.endswith("\\") else t


def unit_url(s):
    out = []
    for c in s:
        if c == "%":
            out.append("%%")
        elif c.isascii() and c.isprintable() and c not in " \"'\\":
            out.append(c)
        else:
            out.extend("%%%%%02X" % b for b in c.encode())
    return "".join(out)


def comment(s):
    return "".join("?" if (ord(c) < 32 or 127 <= ord(c) < 160) else c for c in str(s))


def num(n):
    return str(n)


def heredoc(body, delimiter):
    assert delimiter not in body.split("\n")
    return body + ("" if body.endswith("\n") else "\n") + delimiter


FILTERS = {"sh": sh, "unit_arg": unit_arg, "unit_text": unit_text, "unit_url": unit_url, "comment": comment, "num": num}
LISTS = {"sh_words": sh, "unit_args": unit_arg}


class Translator:
    """Handlebars as deployc writes it, into Jinja2."""

    def __init__(self, partials):
        self.partials = partials

    def path(self, p, scopes):
        if p.startswith('"'):
            return p
        depth = len(scopes) - 1
        while p.startswith("../"):
            p, depth = p[3:], depth - 1
        if p == "@index":
            return "loop.index0"
        if p == "this":
            return scopes[depth]
        if p.startswith("this."):
            p = p[5:]
        return scopes[depth] + "".join('["%s"]' % k for k in p.split("."))

    def expr(self, words, scopes):
        if words[0].startswith("("):
            inner = words[0][1:-1].split()
            assert inner[0] == "or"
            return "(" + " or ".join(self.path(w, scopes) for w in inner[1:]) + ")"
        return self.path(words[0], scopes)

    def tag(self, body, scopes):
        body = body.strip()
        words = re.findall(r"\([^)]*\)|\S+", body)
        head = words[0]
        if head.startswith("!"):
            return ""
        if head in ("#if", "#unless"):
            return "{%% %s %s %%}" % ("if" if head == "#if" else "if not", self.expr(words[1:], scopes))
        if head == "else":
            return "{% else %}"
        if head in ("/if", "/unless"):
            return "{% endif %}"
        if head == "#each":
            source = self.expr(words[1:], scopes)
            scopes.append("it%d" % len(scopes))
            return "{%% for %s in %s %%}" % (scopes[-1], source)
        if head == "/each":
            scopes.pop()
            return "{% endfor %}"
        if head == ">":
            hash_ = dict(w.split("=") for w in words[2:])
            merged = "dict(%s, **{%s})" % (scopes[-1], ", ".join('"%s": %s' % (k, self.path(v, scopes)) for k, v in hash_.items()))
            inner = self.translate(self.partials[words[1]], ["ctx"])
            return "{%% with ctx = %s %%}%s{%% endwith %%}" % (merged, inner)
        if head in FILTERS:
            return "{{ %s(%s) }}" % (head, self.path(words[1], scopes))
        if head in LISTS:
            return '{{ %s|map("%s")|join(" ") }}' % (self.path(words[1], scopes), LISTS[head].__name__)
        if head in ("unit_env", "heredoc"):
            return "{{ %s(%s) }}" % (head, ", ".join(self.path(w, scopes) for w in words[1:]))
        raise ValueError("unknown tag {{%s}}" % body)

    def translate(self, text, scopes=None):
        scopes = scopes or ["ctx"]
        out = []
        for line in text.splitlines(keepends=True):
            tags = list(TAG.finditer(line))
            stripped = line.strip(" \t\r\n")
            standalone = (
                len(tags) == 1
                and tags[0].group(0) == stripped
                and re.match(r"\s*[#/!>]|\s*else\s*$", tags[0].group(1))
            )
            if standalone:
                # Handlebars drops the line around a standalone tag.
                out.append(self.tag(tags[0].group(1), scopes))
                continue
            at = 0
            for m in tags:
                out.append(jinja_text(line[at : m.start()]))
                out.append(self.tag(m.group(1), scopes))
                at = m.end()
            out.append(jinja_text(line[at:]))
        return "".join(out)


def jinja_text(s):
    return "{% raw %}" + s + "{% endraw %}" if ("{%" in s or "{{" in s or "{#" in s) else s


def load(name):
    with open(os.path.join(TEMPLATES, name), encoding="utf-8") as f:
        return f.read()


def environment():
    partials = {n: load(n + ".hbs") for n in ("identity", "stages", "sandbox")}
    translator = Translator(partials)
    names = {
        "unit": "unit.service.hbs",
        "build_script": "build.sh.hbs",
        "deploy_unit": "deploy.service.hbs",
        "monitor_service": "monitor.service.hbs",
        "monitor_timer": "monitor.timer.hbs",
        "recover_unit": "recover.service.hbs",
        "notify_unit": "notify.service.hbs",
        "journal_unit": "journal.service.hbs",
        "user_data": "user-data.sh.hbs",
    }
    sources = {name: translator.translate(load(file)) for name, file in names.items()}
    env = jinja2.Environment(
        loader=jinja2.DictLoader(sources),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.globals.update(FILTERS, unit_env=unit_env, heredoc=heredoc)
    env.filters.update(FILTERS)
    return env


def compact(script):
    """A file (the build script or a unit) as user-data carries it (src/render/user_data.rs)."""
    out, origin_kept = [], False
    for line in script.splitlines():
        body = line.lstrip(" ")
        if body.startswith("#") and not body.startswith("#!"):
            if origin_kept:
                continue
            origin_kept = True
        indent = len(line) - len(body)
        out.append("\t" * (indent // 4) + " " * (indent % 4) + body + "\n")
    return "".join(out)


def cloudwatch(plan):
    """The agent config, as src/render/cloudwatch.rs builds it."""
    cw = plan.get("cloudwatch")
    if not cw:
        return None
    collect = []
    for f in cw["files"]:
        entry = {"file_path": f["path"], "log_group_name": cw["log_group"], "log_stream_name": f["stream"]}
        if f["many"]:
            entry["publish_multi_logs"] = True
        if cw.get("retention_days") is not None:
            entry["retention_in_days"] = cw["retention_days"]
        collect.append(entry)
    config = {"agent": {"run_as_user": "root"}, "logs": {"logs_collected": {"files": {"collect_list": collect}}}}
    m = cw.get("metrics")
    if m:
        collected = {}
        if m["memory"]:
            collected["mem"] = {"measurement": ["mem_used_percent", "mem_available"], "metrics_collection_interval": m["interval_secs"]}
        if m["disk"]:
            collected["disk"] = {"measurement": ["used_percent", "free"], "metrics_collection_interval": m["interval_secs"], "resources": m["disk"]}
        config["metrics"] = {"namespace": m["namespace"], "append_dimensions": {"InstanceId": "${aws:InstanceId}"}, "metrics_collected": collected}
    return json.dumps(config, indent=2, ensure_ascii=False) + "\n"


def render(plan):
    env = environment()
    t = lambda name, ctx=plan: env.get_template(name).render(ctx=ctx)
    unit, script, cw = t("unit"), t("build_script"), cloudwatch(plan)
    units = [(plan["units"]["deploy"], t("deploy_unit"))]
    if plan["units"].get("monitor"):
        m = plan["units"]["monitor"]
        units += [(m["service"], t("monitor_service")), (m["timer"], t("monitor_timer")), (m["recover"], t("recover_unit"))]
    if plan["units"].get("notify"):
        units.append((plan["units"]["notify"]["file"], t("notify_unit")))
    if plan["units"].get("journal"):
        units.append((plan["units"]["journal"]["unit"], t("journal_unit")))
    files = plan["files"]
    out = {files["unit"]: unit, files["build_script"]: script}
    out.update({f["name"]: text for f, text in units})
    if files.get("user_data"):
        context = dict(plan)
        context.update(
            unit_text=compact(unit),
            build_script_text=compact(script),
            other_units=[{"path": f["path"], "text": compact(text), "delimiter": "DEPLOYC_UNIT_%d" % (i + 2)} for i, (f, text) in enumerate(units)],
            cloudwatch_text=cw,
        )
        user_data = t("user_data", context)
        out[files["user_data"]] = user_data
        if files.get("user_data_gz"):
            out[files["user_data_gz"]] = gzip.compress(user_data.encode(), compresslevel=9, mtime=0)
    if files.get("cloudwatch") and cw:
        out[files["cloudwatch"]] = cw
    return out


def main():
    vars_file, out_dir = sys.argv[1], sys.argv[2]
    golden = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--check" else None
    with open(vars_file, encoding="utf-8") as f:
        plan = json.load(f)
    os.makedirs(out_dir, exist_ok=True)
    for name, text in render(plan).items():
        data = text if isinstance(text, bytes) else text.encode()
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)
        if golden:
            with open(os.path.join(golden, name), "rb") as f:
                expected = f.read()
            if name.endswith(".gz"):
                # zlib and deployc's deflate may choose other codes for the same bytes.
                data, expected = gzip.decompress(data), gzip.decompress(expected)
            assert data == expected, "%s differs from %s" % (name, golden)
    if golden:
        produced = set(render(plan))
        assert produced == set(os.listdir(golden)) - {".deployc-manifest"}, "other files than %s" % golden


if __name__ == "__main__":
    main()
