"""An axe-core audit of the page in the browser: zero serious or critical violations.

axe-core is vendored (static/js/axe.min.js, see static/js/VENDORED.md) and added to the
page as a script from the portal's own origin, which the Content-Security-Policy allows;
no page of the portal loads it by itself.
"""

from __future__ import annotations

from typing import Any

from django.templatetags.static import static

BLOCKING = ("serious", "critical")

_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))
  }));
}"""


def audit(page: Any) -> list[dict[str, Any]]:
    """Run axe on the page as it is; fail on a serious or critical violation, naming it.

    Returns the minor and moderate ones, for whoever wants to look.
    """
    page.wait_for_load_state("load")
    if page.evaluate("typeof window.axe") == "undefined":
        origin = page.evaluate("window.location.origin")
        page.add_script_tag(url=origin + static("js/axe.min.js"))
    violations = page.evaluate(_RUN)
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert not blocking, f"axe-core on {page.url}:\n" + "\n".join(
        f"  {v['impact']} {v['id']}: {v['help']} at {v['nodes']}" for v in blocking
    )
    return [v for v in violations if v["impact"] not in BLOCKING]
