"""Where a scanned code leads (kiosk.services.scans): the reading the kiosk app and its screens once
did themselves with kiosk.trust.payload. The app only routes what this returns."""
from kiosk.services import scans
from kiosk.services.scans import ScanReader
from kiosk.services.tickets import follow_application_url, follow_ticket_url
from kiosk.trust import payload as pl

BASE = "https://portal.example.invalid/follow"
NUMBER = "SQ202603184101225001"


def test_a_bare_receipt_number_is_an_application_with_itself_as_receipt_on_a_development_terminal():
    assert not pl.verifier_installed()   # no trust root: the development central service's bare receipts
    scan = ScanReader(BASE).read(NUMBER)
    assert (scan.leads_to, scan.value, scan.receipt) == (scans.APPLICATION, NUMBER, NUMBER)


def test_a_signed_receipt_is_its_own_proof():
    p = pl.Payload(pl.APPLICATION_NUMBER, NUMBER, detail={"receipt": "KQ1:signed-receipt"})
    scan = ScanReader(BASE).read(p)
    assert (scan.leads_to, scan.value, scan.receipt) == (scans.APPLICATION, NUMBER, "KQ1:signed-receipt")


def test_booking_slips_progress_slips_and_queue_tickets():
    r = ScanReader(BASE)
    assert r.read({"text": "KIOSK1:APPT:ap-123"}).leads_to == scans.APPOINTMENT
    slip = r.read(follow_application_url(BASE, NUMBER))
    assert (slip.leads_to, slip.value, slip.receipt) == (scans.PROGRESS_SLIP, NUMBER, "")  # view only
    assert r.read(follow_ticket_url(BASE, "t" * 20)).leads_to == scans.QUEUE_TICKET
    # another portal's link is not this kiosk's slip
    assert r.read(follow_application_url("https://elsewhere.example.invalid/f", NUMBER)).leads_to == scans.UNKNOWN


def test_anything_else_is_unknown_with_a_reason_and_no_value_in_its_repr():
    scan = ScanReader(BASE).read({"text": "hello 410122198105122460"})
    assert scan.leads_to == scans.UNKNOWN and scan.why == "no known format"
    assert "410122" not in repr(scan) and "hello" not in repr(scan)
