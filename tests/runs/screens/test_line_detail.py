"""Line details: the reason, the form, saving a correction and the whole flow back to Retry."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from runs.models import LineEdit, Run
from runs.services.corrections import line_correct

from .conftest import BAD_VAT, client_for

GOOD_VAT = "NL123464708B37"


def line_url(line, slug="de-vries"):
    return reverse("line_detail", kwargs={"company_slug": slug, "line_id": line.pk})


def form_of(line, **changes):
    """What the browser sends for the line's form, with ``changes`` typed in."""
    data = {key: value for key, value in line.payload.items() if key != "lines"}
    for index, row in enumerate(line.payload.get("lines", [])):
        data.update({f"lines-{index}-{name}": value for name, value in row.items()})
    return {**data, "version": str(line.version), **changes}


def test_anonymous_users_are_sent_to_login(client, customer_line):
    response = client.get(line_url(customer_line))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_foreign_line_ids_answer_404(editor, foreign_line):
    client = client_for(editor)
    assert client.get(line_url(foreign_line)).status_code == 404
    assert client.post(line_url(foreign_line), {"name": "x"}).status_code == 404
    assert client.get(line_url(foreign_line, slug="jansen")).status_code == 404


def test_it_shows_the_reason_in_red_and_marks_the_failing_field(editor, customer_line):
    page = client_for(editor).get(line_url(customer_line)).content.decode()
    assert f'<p class="alert alert-error" role="alert">vat_number: {BAD_VAT}</p>' in page
    assert 'aria-describedby="f-vat_number-error' in page
    assert f'<p class="field-error" id="f-vat_number-error">{BAD_VAT}</p>' in page
    assert 'name="version" value="1"' in page
    assert ">Save</button>" in page


def test_the_packages_own_message_is_shown_escaped_at_its_invoice_line(editor, invoice_line):
    page = client_for(editor).get(line_url(invoice_line)).content.decode()
    assert "Btw-code &lt;b&gt;9&lt;/b&gt; bestaat niet" in page
    assert "<b>9</b>" not in page
    assert 'name="lines-1-vat_code"' in page
    assert '<tr class="has-errors">' in page


def test_a_viewer_reads_the_line_without_form_controls(viewer, customer_line):
    page = client_for(viewer).get(line_url(customer_line)).content.decode()
    assert "<fieldset disabled>" in page
    assert "<button" not in page.split('id="line-form"')[1].split("</div>")[0]
    assert 'name="reoffer"' not in page
    assert 'method="post" action="' + line_url(customer_line) not in page


def test_a_viewer_cannot_save(viewer, customer_line):
    response = client_for(viewer).post(
        line_url(customer_line), form_of(customer_line, vat_number=GOOD_VAT)
    )
    assert response.status_code == 403
    customer_line.refresh_from_db()
    assert customer_line.correction is None


def test_an_invalid_correction_shows_the_form_again_and_stores_nothing(editor, customer_line):
    response = client_for(editor).post(
        line_url(customer_line), form_of(customer_line, vat_number="NL99", reoffer="1")
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "please correct the marked fields" in page
    assert 'value="NL99"' in page
    customer_line.refresh_from_db()
    assert customer_line.correction is None


def test_a_stale_save_keeps_what_the_user_typed(editor, consultant, customer_line):
    opened = form_of(customer_line, vat_number=GOOD_VAT, city="Zwolle")
    line_correct(
        line=customer_line,
        user=consultant,
        data={**customer_line.payload, "vat_number": GOOD_VAT},
        version=1,
        reoffer=False,
    )
    page = client_for(editor).post(line_url(customer_line), opened).content.decode()
    assert "This line was changed by consultant" in page
    assert 'value="Zwolle"' in page
    customer_line.refresh_from_db()
    assert customer_line.correction["city"] != "Zwolle"


def test_an_htmx_save_that_fails_answers_with_the_form_only(editor, customer_line):
    response = client_for(editor).post(
        line_url(customer_line), form_of(customer_line, vat_number="NL99"), HTTP_HX_REQUEST="true"
    )
    page = response.content.decode()
    assert page.lstrip().startswith('<form id="line-form"')
    assert "<html" not in page


def test_an_htmx_save_redirects_the_browser_to_the_run(editor, customer_line):
    response = client_for(editor).post(
        line_url(customer_line), form_of(customer_line, vat_number=GOOD_VAT), HTTP_HX_REQUEST="true"
    )
    assert response["HX-Redirect"] == reverse(
        "run_detail", kwargs={"company_slug": "de-vries", "run_id": customer_line.run_id}
    )


def test_a_corrected_value_shows_beside_the_offered_one(editor, customer_line):
    client = client_for(editor)
    client.post(line_url(customer_line), form_of(customer_line, vat_number=GOOD_VAT))
    page = client.get(line_url(customer_line)).content.decode()
    assert f'value="{GOOD_VAT}"' in page
    assert "was: NL123" in page
    assert "VAT number" in page and "editor" in page  # the edit history names the field and who


def test_an_invoice_line_can_be_removed_and_one_added(editor, invoice_line):
    data = form_of(
        invoice_line,
        **{"lines-1-DELETE": "1", "lines-2-gl_account": "8300", "lines-2-amount": "10.00"},
    )
    client_for(editor).post(line_url(invoice_line), data)
    invoice_line.refresh_from_db()
    assert [row["gl_account"] for row in invoice_line.correction["lines"]] == ["8100", "8300"]


def test_a_consultant_sees_the_request_and_response_escaped(consultant, editor, invoice_line):
    page = client_for(consultant).get(line_url(invoice_line)).content.decode()
    assert "POST https://api.example/V22/invoices" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert" not in page
    assert (
        "https://api.example/V22/invoices"
        not in client_for(editor).get(line_url(invoice_line)).content.decode()
    )


def test_earlier_attempts_of_the_same_record_are_listed(editor, failed_run, customer_line):
    line_correct(
        line=customer_line,
        user=editor,
        data={**customer_line.payload, "vat_number": GOOD_VAT},
        version=1,
        reoffer=True,
    )
    client = client_for(editor)
    client.post(reverse("run_retry", kwargs={"company_slug": "de-vries", "run_id": failed_run.pk}))
    retried = Run.objects.get(retry_of=failed_run).lines.get()
    page = client.get(line_url(retried)).content.decode()
    assert line_url(customer_line) in page
    assert "#1" in page


def test_saving_needs_a_csrf_token(editor, customer_line):
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    response = client.post(line_url(customer_line), form_of(customer_line, vat_number=GOOD_VAT))
    assert response.status_code == 403
    customer_line.refresh_from_db()
    assert customer_line.correction is None


def test_the_whole_flow_from_failed_line_to_retry(editor, failed_run, customer_line, invoice_line):
    client = client_for(editor)
    run_page = reverse("run_detail", kwargs={"company_slug": "de-vries", "run_id": failed_run.pk})

    saved = client.post(
        line_url(customer_line),
        form_of(customer_line, vat_number=GOOD_VAT, reoffer="1"),
        follow=True,
    )
    # To the run's warning that changes are ready, which then takes the focus.
    assert saved.redirect_chain == [(f"{run_page}#changes-ready", 302)]
    assert "1 line has changes ready to be re-offered." in saved.content.decode()

    invoice = form_of(invoice_line, **{"lines-1-vat_code": "2", "reoffer": "1"})
    client.post(line_url(invoice_line), invoice)
    assert "2 lines have changes ready to be re-offered." in client.get(run_page).content.decode()

    retried = client.post(
        reverse("run_retry", kwargs={"company_slug": "de-vries", "run_id": failed_run.pk}),
        follow=True,
    )
    new_run = Run.objects.get(retry_of=failed_run)
    assert "Run #2 started with 2 lines." in retried.content.decode()
    offered = {line.identifier: line.payload for line in new_run.lines.all()}
    assert offered[customer_line.identifier]["vat_number"] == GOOD_VAT
    assert offered[invoice_line.identifier]["lines"][1]["vat_code"] == "2"
    assert "Re-offered in #2" in client.get(run_page, {"failed": "1"}).content.decode()
    customer_line.refresh_from_db()
    assert customer_line.payload["vat_number"] == "NL123"
    assert LineEdit.objects.filter(line=customer_line, field="vat_number").exists()


def test_the_line_page_is_the_last_crumb_after_history_and_its_run(viewer, failed_run):
    line = failed_run.lines.filter(status="failed").first()
    page = client_for(viewer).get(line_url(line)).content.decode()
    trail = page.split('aria-label="Breadcrumb">', 1)[1].split("</nav>", 1)[0]
    run_link = reverse("run_detail", kwargs={"company_slug": "de-vries", "run_id": failed_run.pk})
    assert f'<a href="{run_link}">Run #{failed_run.number}</a>' in trail
    assert f'<li aria-current="page">{line.identifier}</li>' in trail
