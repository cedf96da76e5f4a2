"""Fake personal values and record identifiers for the synthetic market.

Everything here is vectorised: identifiers are formatted with pyarrow compute kernels,
ID numbers carry a valid GB 11643 check digit, names are drawn from common Chinese
surnames and given-name characters, and phones look like mainland mobile numbers. The
values are random, not anyone's: they exist so that pseudonymisation downstream has
realistic raw input to work on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["format_ids", "id_numbers", "names", "phones", "take_str"]

_SURNAMES = tuple(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
_GIVEN = tuple(
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彩春菊辉鹏建国志军海波宁浩宇欣怡子涵梓萱俊杰晨曦佳琪思远文博一鸣雨轩嘉怡鑫磊诗琪天佑"
)
# GB 11643-1999: weights of the first 17 digits and the check character per remainder.
_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_ID_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
# Prefixes of mainland mobile numbers (carrier segments).
_PHONE_PREFIXES = np.array([130, 131, 132, 133, 135, 136, 137, 138, 139, 150, 151, 152, 155, 157, 158, 159,
                            166, 173, 176, 177, 180, 181, 182, 183, 185, 186, 187, 188, 189, 191, 199],
                           dtype=np.int64)  # fmt: skip


def format_ids(prefix: str, numbers: np.ndarray, width: int = 8) -> pd.Series:
    """Record identifiers ``prefix`` + zero-padded ``numbers`` as a pandas ``str`` Series.

    ``format_ids("P", np.array([1]))`` gives ``"P00000001"``.
    """
    text = pc.utf8_lpad(pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string()), width, "0")
    return pd.Series(pc.binary_join_element_wise(prefix, text, ""), dtype="str")


def take_str(values: pd.Series, index: np.ndarray) -> pd.Series:
    """``values`` at positions ``index`` as a fresh ``str`` Series (a fast gather)."""
    return pd.Series(pa.array(values).take(pa.array(np.asarray(index, dtype=np.int64))), dtype="str")


def _digits_to_str(digits: np.ndarray) -> pd.Series:
    """Rows of ASCII codes (uint8, shape (n, k)) as a ``str`` Series of length-k texts."""
    fixed = np.ascontiguousarray(digits, dtype=np.uint8).view(f"S{digits.shape[1]}").ravel()
    return pd.Series(pa.array(fixed).cast(pa.string()), dtype="str")


def id_numbers(rng: np.random.Generator, n: int, region_codes: np.ndarray) -> pd.Series:
    """Eighteen-character resident ID numbers with a valid check character.

    Parameters
    ----------
    rng : numpy.random.Generator
    n : int
    region_codes : ndarray of int
        Six-digit administrative region code per person.
    """
    birth = np.datetime64("1950-01-01") + rng.integers(0, 365 * 50, n).astype("timedelta64[D]")
    ymd = np.char.replace(birth.astype("U10"), "-", "").astype(np.int64) if n else np.zeros(0, np.int64)
    seq = rng.integers(0, 1000, n)
    body = np.asarray(region_codes, dtype=np.int64) * 10**11 + ymd * 1000 + seq
    digits = (body[:, None] // 10 ** np.arange(16, -1, -1, dtype=np.int64)) % 10
    check = _ID_CHECK[(digits * _ID_WEIGHTS).sum(axis=1) % 11]
    chars = np.concatenate([(digits + 48).astype(np.uint8), check[:, None]], axis=1)
    return _digits_to_str(chars)


def names(rng: np.random.Generator, n: int) -> pd.Series:
    """Chinese personal names: a surname and one or two given-name characters."""
    surname = np.array(_SURNAMES)[rng.integers(0, len(_SURNAMES), n)]
    first = np.array(_GIVEN)[rng.integers(0, len(_GIVEN), n)]
    second = np.where(rng.random(n) < 0.7, np.array(_GIVEN)[rng.integers(0, len(_GIVEN), n)], "")
    return pd.Series(np.char.add(np.char.add(surname, first), second), dtype="str")


def phones(rng: np.random.Generator, n: int, missing: float) -> pd.Series:
    """Eleven-digit mobile numbers, a share ``missing`` of them null."""
    number = _PHONE_PREFIXES[rng.integers(0, len(_PHONE_PREFIXES), n)] * 10**8 + rng.integers(0, 10**8, n)
    text = pd.Series(pc.cast(pa.array(number), pa.string()), dtype="str")
    return text.mask(rng.random(n) < missing)
