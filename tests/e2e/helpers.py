"""What the browser tests ask of a page beyond Playwright's own expectations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

PRICE = "20000"  # the paper market's price while the replay stands at its first bar

# Attributes htmx takes from the closest ancestor when an element has none of its own. Inherited,
# they aim a request at its container's target (the trade ticket vanished that way), so every
# element that sends a request sets its own or sits below an hx-disinherit that stops them.
INHERITED_HTMX = ["hx-target", "hx-swap", "hx-disabled-elt", "hx-indicator", "hx-select", "hx-include", "hx-confirm"]
INHERITANCE_SCRIPT = """(attributes) => {
  const disinherits = (element, attribute) => {
    const names = (element.getAttribute("hx-disinherit") || "").split(/\\s+/);
    return names.includes("*") || names.includes(attribute);
  };
  const found = [];
  for (const element of document.querySelectorAll("[hx-get],[hx-post],[hx-put],[hx-patch],[hx-delete]")) {
    for (const attribute of attributes) {
      if (element.hasAttribute(attribute)) continue;
      // htmx walks up the same way: the first hx-disinherit naming the attribute ends the search.
      for (let owner = element.parentElement; owner; owner = owner.parentElement) {
        if (disinherits(owner, attribute)) break;
        if (owner.hasAttribute(attribute)) {
          const name = element.id ? `#${element.id}` : element.outerHTML.slice(0, 80);
          found.push(`${name} inherits ${attribute}="${owner.getAttribute(attribute)}"`);
          break;
        }
      }
    }
  }
  return found;
}"""


def inherited_htmx(tab: Any) -> list[str]:
    """Elements on the page that would send a request with an htmx attribute of an ancestor."""
    return tab.evaluate(INHERITANCE_SCRIPT, INHERITED_HTMX)


DUPLICATE_IDS_SCRIPT = """() => {
  const counts = new Map();
  for (const element of document.querySelectorAll("[id]")) counts.set(element.id, (counts.get(element.id) || 0) + 1);
  return [...counts].filter(([, count]) => count > 1).map(([id]) => id);
}"""


def duplicate_ids(tab: Any) -> list[str]:
    """Ids that more than one element carries: what a fragment swapped into itself instead of over itself leaves."""
    return tab.evaluate(DUPLICATE_IDS_SCRIPT)


@contextmanager
def htmx_settled(tab: Any) -> Iterator[None]:
    """On leaving the block, wait until htmx has swapped in and settled the answer to what the block did."""
    tab.evaluate(
        "() => { window.e2eSettled = new Promise("
        "resolve => document.addEventListener('htmx:afterSettle', resolve, {once: true})); }"
    )
    yield
    tab.evaluate("() => window.e2eSettled.then(() => true)")
