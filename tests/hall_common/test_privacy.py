"""The masking rules, in one place: ID numbers, names, addresses, phones, free text."""
from hall_common import privacy


def test_mask_id_keeps_first3_last4_and_hides_birth_date():
    masked = privacy.mask_id("410122198001011234")
    assert masked == "410***********1234"
    assert "19800101" not in masked
    assert privacy.mask_id("41012219800101X") == "410********101X"


def test_mask_name():
    assert privacy.mask_name("张三丰") == "张*丰"
    assert privacy.mask_name("张三") == "张*"
    assert privacy.mask_name("欧阳娜娜") == "欧**娜"
    assert privacy.mask_name("JOHN SMITH") == "J*** S****"


def test_mask_address_and_phone():
    assert privacy.mask_address("河南省郑州市中牟县刁家乡付李庄社区1号").startswith("河南省郑州市")
    assert "付李庄" not in privacy.mask_address("河南省郑州市中牟县刁家乡付李庄社区1号")
    assert privacy.mask_phone("13812345678") == "138****5678"


def test_redact_text_masks_ids_and_phones_but_not_other_numbers():
    text = "id=410122198001011234 phone 13812345678 ts=1732431234567890123456 old=410122800101123"
    out = privacy.redact_text(text)
    assert "410122198001011234" not in out and "410***********1234" in out
    assert "13812345678" not in out and "138****5678" in out
    assert "1732431234567890123456" in out  # a longer digit run is not an ID
    assert "410122800101123" not in out      # the old 15-digit form is masked too
