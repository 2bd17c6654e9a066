#!/usr/bin/env python3
"""Checks every relative Markdown link in README.md and docs/*.md: the file exists and, for
#anchors, a heading with that GitHub slug exists in it. Prints each broken link; exit 1 if any.
Usage: scripts/check_links.py [repository root]"""
import pathlib, re, sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parent.parent).resolve()
pages = [root / 'README.md', *sorted((root / 'docs').glob('*.md'))]
link = re.compile(r'(?<!!)\[[^\]]*\]\(([^)\s]+)\)')

def slugs(path):
    out, fence = set(), False
    for line in path.read_text().split('\n'):
        if line.startswith('```'):
            fence = not fence
        elif not fence and line.startswith('#'):
            text = line.lstrip('#').strip().lower()
            text = re.sub(r'[^\w\- ]', '', text)   # GitHub drops punctuation but keeps - and _
            out.add(text.replace(' ', '-'))
    return out

def links(path):
    fence = False
    for n, line in enumerate(path.read_text().split('\n'), 1):
        if line.startswith('```'):
            fence = not fence
        elif not fence:
            for m in link.finditer(re.sub(r'`[^`]*`', '', line)):
                yield n, m.group(1)

bad = 0
for page in pages:
    for n, target in links(page):
        if re.match(r'[a-z]+:', target):
            continue   # absolute URL
        file, _, anchor = target.partition('#')
        dest = (page.parent / file).resolve() if file else page
        if not dest.exists():
            print(f'{page.relative_to(root)}:{n}: {target}: no such file'); bad += 1
        elif anchor and (dest.suffix != '.md' or anchor not in slugs(dest)):
            print(f'{page.relative_to(root)}:{n}: {target}: no such heading'); bad += 1
print(f'{len(pages)} pages, {bad} broken links')
sys.exit(1 if bad else 0)
