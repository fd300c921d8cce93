"""sitemap.xml and robots.txt: the files that tell crawlers what the site holds."""

from __future__ import annotations

from registry.sitegen.writer import SiteWriter

SITEMAP_URLS = 50000  # the sitemap protocol's limit per file


def write_sitemap(writer: SiteWriter, base_url: str, stamp: str | None) -> None:
    """`sitemap.xml` (an index of `sitemap-N.xml` files once past the protocol's 50,000 URLs)."""
    from xml.sax.saxutils import escape

    lastmod = f"<lastmod>{escape(stamp[:10])}</lastmod>" if stamp else ""
    pages = sorted(writer.pages)
    chunks = [pages[i : i + SITEMAP_URLS] for i in range(0, len(pages), SITEMAP_URLS)] or [[]]
    head = '<?xml version="1.0" encoding="UTF-8"?>\n'
    ns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'

    def urlset(paths: list[str]) -> str:
        body = "".join(f"<url><loc>{escape(base_url + p)}</loc>{lastmod}</url>\n" for p in paths)
        return f"{head}<urlset {ns}>\n{body}</urlset>\n"

    if len(chunks) == 1:
        writer.write("sitemap.xml", urlset(chunks[0]))
        return
    index = ""
    for number, chunk in enumerate(chunks, start=1):
        writer.write(f"sitemap-{number}.xml", urlset(chunk))
        index += f"<sitemap><loc>{escape(base_url)}sitemap-{number}.xml</loc>{lastmod}</sitemap>\n"
    writer.write("sitemap.xml", f"{head}<sitemapindex {ns}>\n{index}</sitemapindex>\n")


def write_robots(writer: SiteWriter, base_url: str) -> None:
    """`robots.txt`: everything allowed, pointing at the sitemap."""
    writer.write("robots.txt", f"User-agent: *\nAllow: /\nSitemap: {base_url}sitemap.xml\n")
