"""The printable order confirmation (PDF), in Chinese and English.

reportlab's built-in CID font STSong-Light renders Chinese without shipping a font file.
"""

from __future__ import annotations

import io

from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Order


def order_confirmation_pdf(order: Order) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    font = "STSong-Light"
    title = ParagraphStyle("title", fontName=font, fontSize=16, leading=20)
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=12)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        title=f"{_('Order confirmation')} {order.number}",
    )
    dealer = order.dealer
    story = [
        Paragraph(f"{_('Order confirmation')} {order.number}", title),
        Spacer(1, 4 * mm),
        Paragraph(f"{_('Dealer')}: {dealer.code} {dealer.name}", body),
        Paragraph(f"{_('Date')}: {timezone.localtime(order.created_at):%Y-%m-%d %H:%M}", body),
        Paragraph(
            f"{_('Status')}: {order.get_status_display()} · {_('Channel')}: {order.get_channel_display()}",
            body,
        ),
        Spacer(1, 4 * mm),
    ]
    rows = [
        [
            _("SKU"),
            _("Product"),
            _("Qty"),
            _("Unit"),
            _("Unit price"),
            _("Discount"),
            _("Tax"),
            _("Total"),
        ]
    ]
    for line in order.lines.select_related("sku__product").order_by("position"):
        rows.append(
            [
                line.sku.code,
                Paragraph(line.sku.product.name, body),
                str(line.quantity),
                line.unit_code,
                f"{line.unit_price:.2f}",
                f"{line.discount:.2f}",
                f"{line.tax_amount:.2f}",
                _("free") if line.is_free else f"{line.line_total:.2f}",
            ]
        )
    table = Table(
        rows,
        colWidths=[22 * mm, 58 * mm, 12 * mm, 14 * mm, 20 * mm, 18 * mm, 16 * mm, 20 * mm],
        repeatRows=1,
    )
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("FONTSIZE", (0, 0), (-1, -1), 8),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("ALIGN", (2, 1), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    story += [table, Spacer(1, 4 * mm)]
    for label, value in (
        (_("Subtotal"), order.subtotal),
        (_("Discounts"), -order.discount_total),
        (_("Tax"), order.tax_total),
        (_("Rebate applied"), -order.rebate_applied),
        (_("Total"), order.total),
    ):
        story.append(Paragraph(f"{label}: {value:.2f} {order.currency}", body))
    if order.note:
        story += [Spacer(1, 3 * mm), Paragraph(f"{_('Note')}: {order.note}", body)]
    doc.build(story)
    return buf.getvalue()
