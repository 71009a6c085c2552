from policytrends.demo_sites.server import serve_forever


def _show(urls: dict[str, str]) -> None:
    for site, url in urls.items():
        print(f"{site:12s} {url}")
    print("Serving the demo think tanks; Ctrl-C to stop.", flush=True)


serve_forever(_show)
