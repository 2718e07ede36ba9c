"""A partner page written to attack the console: script and event-handler payloads in the headline,
byline, image URL and body. Shared by the console tests (served HTML) and the browser test (dialogs)."""
from __future__ import annotations

#: what must never appear unescaped in a console page
PAYLOADS = ("<script>alert(1)</script>", "<img src=x onerror=alert(", "<b onmouseover=alert(6)>",
            '"onerror="alert(3)')
HEADLINE = "<script>alert(1)</script> Evil headline"


def hostile_html() -> str:
    filler = " ".join(["More words to make it a real article."] * 12)
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>&lt;script&gt;alert(1)&lt;/script&gt; Evil headline</title>
<meta property="og:title" content="&lt;script&gt;alert(1)&lt;/script&gt; Evil headline">
<meta name="author" content="&lt;img src=x onerror=alert(2)&gt;">
<meta property="og:image" content="http://127.0.0.1/x.jpg&quot;onerror=&quot;alert(3)">
</head><body><article><h1>&lt;script&gt;alert(1)&lt;/script&gt; Evil headline</h1>
<p>First paragraph with an injected script <script>alert(4)</script> and an <img src=x onerror=alert(5)> image. {filler}</p>
<p>Second paragraph &lt;b onmouseover=alert(6)&gt;hover&lt;/b&gt; {filler}</p>
<p>Third paragraph. {filler}</p>
</article></body></html>"""
