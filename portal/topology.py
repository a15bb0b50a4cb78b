"""Network pictures drawn on the server: networks in one column, machines in the other, a line per card.

Built with ElementTree like every other document here, so names and addresses
typed by people are escaped, never markup.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

#: Layout in SVG user units.
COLUMN_WIDTH, ROW_HEIGHT, BOX_WIDTH, BOX_HEIGHT, GAP = 420, 56, 200, 40, 24


@dataclass(frozen=True)
class Node:
    """A box: a network (left) or a VM or container (right)."""

    key: str
    label: str
    detail: str = ""
    css_class: str = ""
    url: str = ""


@dataclass(frozen=True)
class Link:
    """A network card: which machine sits on which network, with its addresses."""

    network: str
    machine: str
    label: str = ""


def topology_svg(networks: list[Node], machines: list[Node], links: list[Link]) -> str:
    """The picture as an SVG document."""
    rows = max(len(networks), len(machines), 1)
    width, height = COLUMN_WIDTH + BOX_WIDTH + 2 * GAP, rows * ROW_HEIGHT + 2 * GAP
    svg = ET.Element(
        "svg",
        {"xmlns": "http://www.w3.org/2000/svg", "viewBox": f"0 0 {width} {height}", "class": "topology", "role": "img"},
    )
    ET.SubElement(svg, "title").text = f"{len(networks)} networks, {len(machines)} machines, {len(links)} connections"
    left = {node.key: (GAP, GAP + i * ROW_HEIGHT) for i, node in enumerate(networks)}
    right = {node.key: (GAP + COLUMN_WIDTH, GAP + i * ROW_HEIGHT) for i, node in enumerate(machines)}
    for link in links:
        if link.network not in left or link.machine not in right:
            continue
        (x1, y1), (x2, y2) = left[link.network], right[link.machine]
        start, end = (x1 + BOX_WIDTH, y1 + BOX_HEIGHT / 2), (x2, y2 + BOX_HEIGHT / 2)
        ET.SubElement(
            svg,
            "line",
            {"x1": f"{start[0]}", "y1": f"{start[1]}", "x2": f"{end[0]}", "y2": f"{end[1]}", "class": "link"},
        )
        if link.label:
            middle = ET.SubElement(
                svg,
                "text",
                {"x": f"{(start[0] + end[0]) / 2}", "y": f"{(start[1] + end[1]) / 2 - 4}", "class": "link-label"},
            )
            middle.text = link.label
    for node, (x, y) in [*((n, left[n.key]) for n in networks), *((n, right[n.key]) for n in machines)]:
        parent = ET.SubElement(svg, "a", {"href": node.url}) if node.url else svg
        group = ET.SubElement(parent, "g", {"class": f"node {node.css_class}".strip()})
        ET.SubElement(
            group, "rect", {"x": f"{x}", "y": f"{y}", "width": f"{BOX_WIDTH}", "height": f"{BOX_HEIGHT}", "rx": "6"}
        )
        ET.SubElement(group, "text", {"x": f"{x + 8}", "y": f"{y + 16}", "class": "node-label"}).text = node.label
        ET.SubElement(group, "text", {"x": f"{x + 8}", "y": f"{y + 32}", "class": "node-detail"}).text = node.detail
    return ET.tostring(svg, encoding="unicode")
