"""A milestone's evidence as uploaded: photos cleaned like a visit's (survey.checks.photos),
PDFs (acceptance sheets, contracts, certificates) checked to be PDFs and kept as sent. Every
file at most PHOTO_MAX_BYTES (20 MB)."""

from dataclasses import dataclass

from survey.checks.photos import BadPhoto, chosen_uploads, photos_limit, uploaded_photos

#: PDFs one record may carry.
MAX_DOCUMENTS = 6
#: A PDF ends with this within its last KB (readers allow some trailing bytes).
_PDF_END = b"%%EOF"
_PDF_TAIL = 1024


class BadEvidence(ValueError):
    """A file we do not accept; the message says which and why (in Chinese)."""


@dataclass
class Evidence:
    kind: str  # photo, pdf (survey.progress.models.FILE_KINDS)
    filename: str
    content_type: str
    data: bytes


def _is_pdf(data: bytes) -> bool:
    # The header may follow a little junk (a reader looks within the first KB).
    return b"%PDF-" in data[:1024] and _PDF_END in data[-_PDF_TAIL:]


def _documents(files, max_bytes: int) -> list[Evidence]:
    found = []
    for upload, data in chosen_uploads(
        files, MAX_DOCUMENTS, max_bytes, "PDF 文件", "个", error=BadEvidence
    ):
        if not _is_pdf(data):
            raise BadEvidence(f"文件“{upload.filename}”不是 PDF 文件，请上传 PDF 格式的扫描件。")
        found.append(Evidence("pdf", upload.filename[-200:], "application/pdf", data))
    return found


def uploaded_evidence(photos, documents, config) -> list[Evidence]:
    """The photos and PDFs of a record's form (Werkzeug FileStorage lists), checked and
    ready to store; at least one. Raises BadEvidence naming the file and the reason."""
    try:
        cleaned = uploaded_photos(photos, config)
    except BadPhoto as err:
        raise BadEvidence(str(err)) from None
    extension = {"image/jpeg": "jpg", "image/png": "png"}
    found = [
        Evidence("photo", f"现场照片{i}.{extension[p.content_type]}", p.content_type, p.data)
        for i, p in enumerate(cleaned, 1)
    ]
    found += _documents(documents, config["PHOTO_MAX_BYTES"])
    if not found:
        raise BadEvidence("请上传证明材料：现场照片或 PDF 扫描件（如验收记录单）。")
    return found


def evidence_limit(config) -> int:
    """The largest body a record's form may send: every photo and PDF at its limit."""
    return photos_limit(config) + config["PHOTO_MAX_BYTES"] * MAX_DOCUMENTS
