"""The part of each role's README.md that its meta/argument_specs.yml says: what the role does, its entry points and
their variables. The rest of the README (the example) is written by hand and kept as it is.

    python tools/role_readmes.py           rewrite the generated part of every role's README
    python tools/role_readmes.py --check   exit 1 and name the READMEs that differ from their argument specs
"""

import json
import os
import re
import sys

import yaml

from generated import ROOT, settle

BEGIN = "<!-- BEGIN: generated from meta/argument_specs.yml by tools/role_readmes.py -->"
END = "<!-- END: generated -->"
MISSING = object()
MARKUP = re.compile(r"\b([OVCIBLURMP])\(([^()]*(?:\([^()]*\)[^()]*)*)\)")


def plain(text):
    """Ansible's documentation markup as Markdown."""
    def replace(match):
        kind, value = match.groups()
        if kind in ("O", "V", "C", "RV", "P"):
            if kind == "O" and "#" in value:
                plugin, _sep, option = value.partition(":")
                return "`%s` of `%s`" % (option, plugin.split("#")[0])
            if kind == "P":
                return "`%s`" % value.split("#")[0]
            return "`%s`" % value
        if kind == "I":
            return "*%s*" % value
        if kind == "B":
            return "**%s**" % value
        if kind == "M":
            return "`%s`" % value
        if kind in ("U", "L"):
            return value
        return match.group(0)
    return MARKUP.sub(replace, text)


def paragraphs(value):
    if value is None:
        return []
    return [plain(line) for line in (value if isinstance(value, list) else [value])]


def default_text(option, role_default):
    if "default" in option:
        value = option["default"]
    elif role_default is not MISSING:
        value = role_default
    else:
        return "*required*" if option.get("required") else ""
    if option.get("no_log") and value:
        return "(secret)"
    if isinstance(value, str) and value and "\n" not in value and "`" not in value:
        return "`%s`" % value
    return "`%s`" % json.dumps(value)


def type_text(option):
    kind = option.get("type", "str")
    if kind == "list":
        kind = "list of %s" % option.get("elements", "str")
    if option.get("choices"):
        kind += ": " + ", ".join("`%s`" % choice for choice in option["choices"])
    return kind


def option_rows(options, role_defaults, prefix=""):
    rows = []
    for name in sorted(options):
        option = options[name]
        description = " ".join(paragraphs(option.get("description")))
        if option.get("no_log"):
            description += " Secret: never printed."
        role_default = role_defaults.get(name, MISSING) if not prefix else MISSING
        default = default_text(option, role_default).replace("|", "\\|")
        cells = (prefix + name, type_text(option), default, description.replace("|", "\\|").strip())
        rows.append("| `%s` | %s | %s | %s |" % cells)
        if option.get("options"):
            rows.extend(option_rows(option["options"], role_defaults, prefix + name + "[]."))
    return rows


def generated(role):
    with open(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml")) as handle:
        specs = yaml.safe_load(handle)["argument_specs"]
    defaults_path = os.path.join(ROOT, "roles", role, "defaults", "main.yml")
    role_defaults = {}
    if os.path.exists(defaults_path):
        with open(defaults_path) as handle:
            role_defaults = yaml.safe_load(handle) or {}
    lines = [BEGIN, ""]
    main = specs.get("main", {})
    lines += ["%s." % plain(main.get("short_description", "")).rstrip("."), ""]
    for paragraph in paragraphs(main.get("description")):
        lines += ["- " + paragraph]
    lines.append("")
    lines += ["## Entry points", ""]
    for entry in sorted(specs, key=lambda name: (name != "main", name)):
        call = ("`upkeep.maintenance.%s`" % role) if entry == "main" else (
            "`upkeep.maintenance.%s` with `tasks_from: %s`" % (role, entry))
        lines.append("- **%s** (%s): %s" % (entry, call, plain(specs[entry].get("short_description", ""))))
    lines.append("")
    for entry in sorted(specs, key=lambda name: (name != "main", name)):
        options = specs[entry].get("options") or {}
        lines += ["## Variables of `%s`" % entry, ""]
        if not options:
            lines += ["None.", ""]
            continue
        if entry != "main" and specs[entry].get("description"):
            lines += ["- " + paragraph for paragraph in paragraphs(specs[entry]["description"])] + [""]
        lines += ["| Variable | Type | Default | Description |", "|---|---|---|---|"]
        lines += option_rows(options, role_defaults)
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def render(role, current):
    block = generated(role)
    if BEGIN in current and END in current:
        before = current[:current.index(BEGIN)]
        after = current[current.index(END) + len(END):]
        return before + block + after
    return "# upkeep.maintenance.%s\n\n%s\n\n## Example\n\n```yaml\n```\n" % (role, block)


def main(argv):
    paths = [os.path.join(ROOT, "roles", role, "README.md") for role in sorted(os.listdir(os.path.join(ROOT, "roles")))]
    return settle(paths, lambda path, current: render(os.path.basename(os.path.dirname(path)), current), argv,
                  "the roles' argument specs say otherwise, run python tools/role_readmes.py")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
