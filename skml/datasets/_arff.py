"""Reader for MULAN and MEKA multi-label ARFF files, dense or sparse, plain or gzip.

``scipy.io.arff`` reads neither sparse rows nor label metadata, so this is a small parser of
its own. The data section is split into tokens with ``str`` methods and converted by numpy in
one call; only when that fails does it walk the tokens one by one, to name the bad line.
"""

import gzip
import re
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.utils import Bunch

__all__ = ["load_arff"]

MULAN_LABELS_NS = "http://mulan.sourceforge.net/labels"

_NUMERIC_TYPES = {"numeric", "real", "integer"}
_MEKA_C = re.compile(r"(?:^|\s)-C\s+(-?\d+)")


class _Attribute:
    __slots__ = ("name", "kind", "domain", "lineno")

    def __init__(self, name, kind, domain, lineno):
        self.name = name
        self.kind = kind  # "numeric" or "nominal"
        self.domain = domain  # list of str for nominal attributes, else None
        self.lineno = lineno


# Magic bytes of compressed formats that are not read, for a clear message.
_OTHER_FORMATS = {
    b"BZh": "bz2",
    b"\xfd7zXZ\x00": "xz",
    b"PK\x03\x04": "zip",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"7z\xbc\xaf\x27\x1c": "7z",
}


def _read_text(path, what="ARFF file"):
    """Text of a plain or gzip-compressed file (detected by its magic bytes, not its name).

    UTF-8 (a byte-order mark is dropped), else Latin-1, which decodes any byte. Every failure
    names the file: OSError (same errno, so FileNotFoundError, IsADirectoryError, ...) when it
    cannot be read, ValueError when its bytes are not gzip-compressed or plain text.
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        if exc.errno is None:
            raise OSError(f"cannot read {what} {str(path)!r}: {exc}") from exc
        # OSError(errno, ...) builds the subclass of that errno (FileNotFoundError, ...).
        raise OSError(exc.errno, f"cannot read {what}: {exc.strerror}", str(path)) from exc
    compressed = raw[:2] == b"\x1f\x8b"
    if compressed:
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as exc:
            reason = "truncated" if isinstance(exc, EOFError) else "corrupt"
            kind = type(exc).__name__
            if type(exc).__module__ != "builtins":
                kind = f"{type(exc).__module__}.{kind}"  # gzip.BadGzipFile, zlib.error
            raise ValueError(f"{path}: {reason} gzip-compressed {what} ({kind}: {exc})") from exc
    else:
        for magic, name in _OTHER_FORMATS.items():
            if raw.startswith(magic):
                raise ValueError(
                    f"{path}: {what} is {name}-compressed; only plain and gzip-compressed "
                    "files are read"
                )
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise ValueError(
            f"{path}: {what} holds binary data (a NUL byte at offset {nul}"
            f"{' once decompressed' if compressed else ''}); expected UTF-8 or Latin-1 text"
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _unquote(token):
    token = token.strip()
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "'\"":
        return token[1:-1].replace("\\" + token[0], token[0])
    return token


def _split_name(rest, where):
    """Split ``'quoted name' type`` or ``name type`` into (name, type)."""
    rest = rest.strip()
    if not rest:
        raise ValueError(f"{where}: missing attribute name")
    quote = rest[0]
    if quote in "'\"":
        i = 1
        while i < len(rest):
            if rest[i] == "\\":
                i += 2
                continue
            if rest[i] == quote:
                return _unquote(rest[: i + 1]), rest[i + 1 :].strip()
            i += 1
        raise ValueError(f"{where}: unterminated quote in attribute name")
    parts = rest.split(None, 1)
    return parts[0], parts[1].strip() if len(parts) > 1 else ""


def _parse_header(lines, path):
    """Parse up to ``@data``; return (relation, attributes, index of the first data line)."""
    relation = ""
    attributes = []
    for i, line in enumerate(lines):
        s = line.strip()
        if not s or s[0] == "%":
            continue
        where = f"{path}, line {i + 1}"
        keyword = s.split(None, 1)[0].lower()
        if keyword == "@relation":
            relation = _unquote(s[len("@relation") :])
        elif keyword == "@attribute":
            name, type_ = _split_name(s[len("@attribute") :], where)
            if type_.startswith("{"):
                if not type_.endswith("}"):
                    raise ValueError(f"{where}: nominal attribute {name!r} lacks a closing '}}'")
                domain = [_unquote(v) for v in type_[1:-1].split(",") if v.strip()]
                attributes.append(_Attribute(name, "nominal", domain, i + 1))
            elif type_.lower() in _NUMERIC_TYPES:
                attributes.append(_Attribute(name, "numeric", None, i + 1))
            else:
                raise ValueError(
                    f"{where}: attribute {name!r} has type {type_!r}; only numeric and "
                    "nominal attributes are supported"
                )
        elif keyword == "@data":
            if not attributes:
                raise ValueError(f"{where}: @data before any @attribute")
            return relation, attributes, i + 1
        else:
            raise ValueError(f"{where}: expected @relation, @attribute or @data, got {s[:40]!r}")
    raise ValueError(f"{path}: no @data section")


def _label_names_from_xml(label_xml):
    """Label names of a MULAN XML file, in document order (nested labels included)."""
    text = _read_text(label_xml, "label XML file")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ValueError(f"{label_xml}: malformed XML ({exc})") from None
    names = []
    for element in root.iter():
        if element.tag in (f"{{{MULAN_LABELS_NS}}}label", "label"):
            name = element.get("name")
            if name is None:
                raise ValueError(f"{label_xml}: a <label> element has no name attribute")
            names.append(name)
    if not names:
        raise ValueError(
            f"{label_xml}: no <label name=...> elements (namespace {MULAN_LABELS_NS})"
        )
    return names, text


def _xml_line(text, name):
    match = re.search(r"name\s*=\s*([\"'])" + re.escape(name) + r"\1", text)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _label_indices(attributes, relation, path, label_names, label_xml, n_labels, label_location):
    """Indices (ascending, i.e. ARFF column order) of the label attributes."""
    given = [
        p
        for p, v in [
            ("label_names", label_names),
            ("label_xml", label_xml),
            ("n_labels", n_labels),
        ]
        if v is not None
    ]
    if len(given) > 1:
        raise ValueError(f"give only one of label_names, label_xml, n_labels; got {given}")
    if label_location not in ("end", "start"):
        raise ValueError(f"label_location must be 'end' or 'start', got {label_location!r}")
    n_attributes = len(attributes)
    position = {a.name: j for j, a in enumerate(attributes)}

    if label_xml is not None or label_names is not None:
        if label_xml is not None:
            names, xml_text = _label_names_from_xml(label_xml)
            source = str(label_xml)
        else:
            if isinstance(label_names, str):
                raise ValueError("label_names must be a list of names, not a string")
            names, xml_text, source = [str(n) for n in label_names], None, "label_names"
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"{source}: duplicate label names {dup}")
        for name in names:
            if name not in position:
                line = _xml_line(xml_text, name) if xml_text is not None else None
                at = f", line {line}" if line else ""
                raise ValueError(
                    f"{source}{at}: unknown label name {name!r}: not an attribute of {path}"
                )
        return sorted(position[n] for n in names)

    if n_labels is None:
        match = _MEKA_C.search(relation)
        if match is None:
            raise ValueError(
                f"{path}: no label information; give label_names, label_xml or n_labels "
                "(or use a MEKA file with '-C K' in its @relation)"
            )
        count = int(match.group(1))
        # MEKA: positive -C counts labels from the start, negative from the end.
        n_labels, label_location = abs(count), ("start" if count > 0 else "end")
    if isinstance(n_labels, bool) or not isinstance(n_labels, int | np.integer):
        raise ValueError(f"n_labels must be an int, got {n_labels!r}")
    if not 1 <= n_labels <= n_attributes:
        raise ValueError(f"n_labels must be in [1, {n_attributes}], got {n_labels}")
    if label_location == "start":
        return list(range(n_labels))
    return list(range(n_attributes - n_labels, n_attributes))


class _Columns:
    """How each ARFF attribute maps onto X (features) or y (labels)."""

    def __init__(self, attributes, label_idx, path):
        n = len(attributes)
        self.attributes = attributes
        self.is_label = np.zeros(n, dtype=bool)
        self.is_label[label_idx] = True
        self.label_idx = np.asarray(label_idx, dtype=np.intp)
        self.feature_idx = np.flatnonzero(~self.is_label)
        # Position of each attribute inside X or y.
        self.out_pos = np.empty(n, dtype=np.intp)
        self.out_pos[self.label_idx] = np.arange(len(self.label_idx))
        self.out_pos[self.feature_idx] = np.arange(len(self.feature_idx))
        for j in self.label_idx:
            a = attributes[j]
            if a.kind == "nominal" and not set(a.domain) <= {"0", "1"}:
                raise ValueError(
                    f"{path}, line {a.lineno}: label attribute {a.name!r} must be nominal "
                    f"{{0,1}}, got {{{','.join(a.domain)}}}"
                )
        # Nominal features: the numeric value when every category is a number, else the
        # category's position in the declared domain.
        self.codes = {}
        for j in self.feature_idx:
            a = attributes[j]
            if a.kind == "nominal":
                try:
                    values = [float(v) for v in a.domain]
                except ValueError:
                    values = list(range(len(a.domain)))
                self.codes[j] = dict(zip(a.domain, values, strict=True))


def _where(path, lineno):
    return f"{path}, line {lineno}"


def _locate(tokens, flat, linenos, cols):
    """(line number, attribute index) of the ``flat``-th token of a 1-D or 2-D token array."""
    if tokens.ndim == 2:
        r, c = divmod(int(flat), tokens.shape[1])
        return linenos[r], cols[c]
    return linenos[flat], cols[flat]


def _to_float(tokens, linenos, cols, columns, path):
    """Convert numeric feature tokens to float64; '?' -> NaN; name the first bad value.

    ``tokens`` is (n_rows, len(cols)) with one line number per row, or 1-D with one line
    number and one attribute index per token.
    """
    missing = tokens == "?"
    if missing.any():
        tokens = np.where(missing, "nan", tokens)
    try:
        return tokens.astype(np.float64)
    except ValueError:
        pass
    for flat, tok in enumerate(tokens.ravel()):
        try:
            float(tok)
        except ValueError:
            lineno, j = _locate(tokens, flat, linenos, cols)
            raise ValueError(
                f"{_where(path, lineno)}: non-numeric value {str(tok)!r} "
                f"for attribute {columns.attributes[j].name!r}"
            ) from None
    raise AssertionError("unreachable")  # pragma: no cover


def _to_label(tokens, linenos, cols, columns, path):
    """0/1 int64 array from label tokens; '?' or anything else -> ValueError with the line."""
    is1 = tokens == "1"
    bad = ~(is1 | (tokens == "0"))
    if bad.any():
        flat = np.flatnonzero(bad.ravel())[0]
        lineno, j = _locate(tokens, flat, linenos, cols)
        tok = str(tokens.ravel()[flat])
        what = "missing label value '?'" if tok == "?" else f"label value {tok!r} is not 0 or 1"
        raise ValueError(
            f"{_where(path, lineno)}: {what} for label {columns.attributes[j].name!r}"
        )
    return is1.astype(np.int64)


def _to_code(tokens, linenos, j, columns, path):
    """Codes of one nominal feature (see _Columns); '?' -> NaN."""
    codes = columns.codes[j]
    uniq, inverse = np.unique(tokens, return_inverse=True)
    values = np.empty(len(uniq))
    for k, u in enumerate(uniq):
        u = str(u)
        if u == "?":
            values[k] = np.nan
        elif u in codes:
            values[k] = codes[u]
        else:
            r = np.flatnonzero(tokens == u)[0]
            raise ValueError(
                f"{_where(path, linenos[r])}: value {u!r} not in the domain of nominal "
                f"attribute {columns.attributes[j].name!r}"
            )
    return values[inverse.ravel()]


def _clean(tokens, sample):
    """Strip blanks and quotes, only when the text shows any (a no-op on plain MULAN files)."""
    if " " in sample or "\t" in sample:
        tokens = np.char.strip(tokens)
    if "'" in sample or '"' in sample:
        tokens = np.char.strip(tokens, "'\"")
    return tokens


def _parse_dense(rows, linenos, columns, path):
    n_attributes = len(columns.attributes)
    counts = np.fromiter((s.count(",") for s in rows), dtype=np.intp, count=len(rows))
    bad = np.flatnonzero(counts != n_attributes - 1)
    if bad.size:
        r = bad[0]
        raise ValueError(
            f"{_where(path, linenos[r])}: expected {n_attributes} comma-separated values, "
            f"got {counts[r] + 1}"
        )
    n = len(rows)
    if n == 0:
        y = np.empty((0, len(columns.label_idx)), dtype=np.int64)
        return np.empty((0, len(columns.feature_idx))), y
    joined = ",".join(rows)
    label_idx, feature_idx = columns.label_idx, columns.feature_idx
    if not columns.codes:
        # Fast path: every value numeric, no '?', no quotes.
        try:
            values = np.array(joined.split(","), dtype=np.float64).reshape(n, n_attributes)
        except ValueError:
            values = None
        if values is not None:
            labels = values[:, label_idx]
            if np.isin(labels, (0.0, 1.0)).all():
                return np.ascontiguousarray(values[:, feature_idx]), labels.astype(np.int64)
    tokens = _clean(np.array(joined.split(",")).reshape(n, n_attributes), joined)
    X = np.empty((n, len(feature_idx)))
    numeric = np.array([j for j in feature_idx if j not in columns.codes], dtype=np.intp)
    if numeric.size:
        X[:, columns.out_pos[numeric]] = _to_float(
            tokens[:, numeric], linenos, numeric, columns, path
        )
    for j in columns.codes:
        X[:, columns.out_pos[j]] = _to_code(tokens[:, j], linenos, j, columns, path)
    y = _to_label(tokens[:, label_idx], linenos, label_idx, columns, path)
    return X, y


def _parse_sparse(rows, linenos, columns, path):
    """Rows ``{index value, ...}``; omitted values are 0. Returns (CSR X, dense y)."""
    n = len(rows)
    n_attributes = len(columns.attributes)
    bodies = []
    counts = np.zeros(n, dtype=np.intp)
    for r, s in enumerate(rows):
        if not s.endswith("}"):
            raise ValueError(f"{_where(path, linenos[r])}: sparse row does not end with '}}'")
        body = s[1:-1]
        if body.strip():
            bodies.append(body)
            counts[r] = body.count(",") + 1
    entries = ",".join(bodies).split(",") if bodies else []
    parts = " ".join(entries).split()
    if len(parts) != 2 * len(entries):
        row_of = np.repeat(np.arange(n), counts)
        for e, entry in enumerate(entries):
            if len(entry.split()) != 2:
                raise ValueError(
                    f"{_where(path, linenos[row_of[e]])}: sparse entry {entry.strip()!r} is not "
                    "'index value'"
                )
    row = np.repeat(np.arange(n), counts)
    idx_tokens = np.array(parts[0::2], dtype=str)
    try:
        idx = idx_tokens.astype(np.int64)
    except ValueError:
        for e, tok in enumerate(idx_tokens):
            if not re.fullmatch(r"[+-]?\d+", str(tok)):
                raise ValueError(
                    f"{_where(path, linenos[row[e]])}: sparse index {str(tok)!r} is not an integer"
                ) from None
        raise
    bad = np.flatnonzero((idx < 0) | (idx >= n_attributes))
    if bad.size:
        e = bad[0]
        raise ValueError(
            f"{_where(path, linenos[row[e]])}: sparse index {idx[e]} out of range "
            f"[0, {n_attributes - 1}]"
        )
    same_row = row[1:] == row[:-1]
    bad = np.flatnonzero(same_row & (np.diff(idx) <= 0))
    if bad.size:
        e = bad[0] + 1
        raise ValueError(
            f"{_where(path, linenos[row[e]])}: sparse indices must be strictly increasing "
            f"(index {idx[e]} after {idx[e - 1]})"
        )
    values = _clean(np.array(parts[1::2], dtype=str), " ".join(parts[1::2]))

    is_label = columns.is_label[idx]
    y = np.zeros((n, len(columns.label_idx)), dtype=np.int64)
    lab = np.flatnonzero(is_label)
    if lab.size:
        ones = _to_label(values[lab], linenos[row[lab]], idx[lab], columns, path)
        y[row[lab], columns.out_pos[idx[lab]]] = ones

    feat = np.flatnonzero(~is_label)
    data = np.empty(feat.size)
    is_code = np.isin(idx[feat], list(columns.codes))
    plain = feat[~is_code]
    data[~is_code] = _to_float(values[plain], linenos[row[plain]], idx[plain], columns, path)
    for j in columns.codes:
        sel = np.flatnonzero(idx[feat] == j)
        if sel.size:
            e = feat[sel]
            data[sel] = _to_code(values[e], linenos[row[e]], j, columns, path)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(row[feat], minlength=n), out=indptr[1:])
    X = sp.csr_matrix(
        (data, columns.out_pos[idx[feat]], indptr), shape=(n, len(columns.feature_idx))
    )
    X.eliminate_zeros()
    return X, y


def load_arff(
    path,
    label_names=None,
    label_xml=None,
    n_labels=None,
    label_location="end",
    sparse=None,
    *,
    return_X_y=False,
):
    """Load a multi-label data set from a MULAN or MEKA ARFF file.

    Reads dense rows (``v1,v2,...``) and sparse rows (``{index value, ...}``, where omitted
    values are 0), from a plain or a gzip-compressed file (detected by content, so ``.arff.gz``
    and ``.arff`` both work). The text is read as UTF-8 (a byte-order mark is dropped), or as
    Latin-1 when it is not valid UTF-8. Features must be numeric or nominal attributes; labels
    must be nominal ``{0,1}`` (or numeric with values 0 and 1).

    The label attributes are found, in order of precedence, from ``label_names``,
    ``label_xml`` or ``n_labels`` (give at most one), else from the MEKA option ``-C K`` in the
    ``@relation`` line (``K > 0``: the first K attributes, ``K < 0``: the last ``-K``).
    All other attributes are features.

    Parameters
    ----------
    path : str or path-like
        The ARFF file, plain or gzip-compressed.
    label_names : list of str, default=None
        Names of the label attributes.
    label_xml : str or path-like, default=None
        MULAN XML file (namespace ``http://mulan.sourceforge.net/labels``) whose
        ``<label name="...">`` elements, nested or not, name the label attributes.
    n_labels : int, default=None
        Number of label attributes, taken at the end or the start (see ``label_location``).
    label_location : {"end", "start"}, default="end"
        Where the ``n_labels`` label attributes are.
    sparse : bool, default=None
        Return ``data`` as a ``scipy.sparse.csr_matrix`` (True) or an ndarray (False). None:
        CSR for a sparse ARFF file, ndarray for a dense one.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        data : ndarray or csr_matrix of shape (n_samples, n_features), dtype float64
            Feature values. Missing values (``?``) become NaN. A nominal feature is coded
            by its value when all its categories are numbers (``{0,1}`` gives 0 and 1), else
            by the position of the category in the declared domain.
        target : ndarray of shape (n_samples, n_labels), dtype int64
            0/1 label indicator matrix. Its columns follow the order of the label attributes
            in the ARFF file, whatever the order of ``label_names`` or of the XML file.
        feature_names : ndarray of shape (n_features,), dtype object
        target_names : ndarray of shape (n_labels,), dtype object

    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    OSError
        If ``path`` or ``label_xml`` cannot be read, with the subclass of the original error
        (e.g. FileNotFoundError, IsADirectoryError, PermissionError) and the path in the
        message; the original error is chained.
    ValueError
        For a malformed file (the message names the file and line number), a truncated or
        corrupt gzip file, a file compressed otherwise (bz2, xz, zip, ...) or holding binary
        data (NUL bytes, e.g. UTF-16 text), a missing value in a label, a label name that is not
        an attribute, or inconsistent arguments.

    Examples
    --------
    >>> from skml.datasets import load_arff
    >>> bunch = load_arff("yeast-train.arff", label_xml="yeast.xml")  # doctest: +SKIP
    >>> bunch.data.shape, bunch.target.shape  # doctest: +SKIP
    ((1500, 103), (1500, 14))
    """
    if sparse not in (None, True, False):
        raise ValueError(f"sparse must be None, True or False, got {sparse!r}")
    path = str(path)
    lines = _read_text(path).splitlines()
    relation, attributes, start = _parse_header(lines, path)
    label_idx = _label_indices(
        attributes, relation, path, label_names, label_xml, n_labels, label_location
    )
    columns = _Columns(attributes, label_idx, path)

    rows, linenos = [], []
    for i in range(start, len(lines)):
        s = lines[i].strip()
        if s and s[0] != "%":
            rows.append(s)
            linenos.append(i + 1)
    linenos = np.asarray(linenos, dtype=np.int64)
    is_sparse = np.fromiter((s[0] == "{" for s in rows), dtype=bool, count=len(rows))

    if is_sparse.all() and rows:
        X, y = _parse_sparse(rows, linenos, columns, path)
    elif not is_sparse.any():
        X, y = _parse_dense(rows, linenos, columns, path)
    else:  # a file mixing both row formats
        s_rows = np.flatnonzero(is_sparse)
        d_rows = np.flatnonzero(~is_sparse)
        Xs, ys = _parse_sparse([rows[r] for r in s_rows], linenos[s_rows], columns, path)
        Xd, yd = _parse_dense([rows[r] for r in d_rows], linenos[d_rows], columns, path)
        order = np.argsort(np.concatenate([s_rows, d_rows]), kind="stable")
        X = sp.vstack([Xs, sp.csr_matrix(Xd)], format="csr")[order]
        y = np.vstack([ys, yd])[order]

    if sparse is None:
        sparse = bool(is_sparse.any())
    if sparse and not sp.issparse(X):
        X = sp.csr_matrix(X)
    elif not sparse and sp.issparse(X):
        X = X.toarray()

    if return_X_y:
        return X, y
    return Bunch(
        data=X,
        target=y,
        feature_names=np.array([attributes[j].name for j in columns.feature_idx], dtype=object),
        target_names=np.array([attributes[j].name for j in columns.label_idx], dtype=object),
    )
