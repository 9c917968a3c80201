"""Names of the benchmark's persons, cities and organisations in each language's script (base forms)."""

from __future__ import annotations

#: Languages whose names are shown in the Latin spelling of ``_LATIN`` unless a row overrides them.
LANGUAGES = ("en", "de", "fr", "es", "ru", "ar", "hi", "tr", "ja", "zh", "sw", "vi")
_COLUMNS = ("latin", "ru", "ar", "hi", "ja", "zh", "vi")

_PERSON_ROWS = {
    # key:        latin         ru          ar            hi             ja              zh          vi
    "anna": ("Anna", "Анна", "آنا", "अन्ना", "アンナ", "安娜", "Anna"),
    "peter": ("Peter", "Петер", "بيتر", "पीटर", "ペーター", "彼得", "Peter"),
    "claire": ("Claire", "Клэр", "كلير", "क्लेयर", "クレール", "克莱尔", "Claire"),
    "louis": ("Louis", "Луи", "لويس", "लुई", "ルイ", "路易", "Louis"),
    "carmen": ("Carmen", "Кармен", "كارمن", "कारमेन", "カルメン", "卡门", "Carmen"),
    "pablo": ("Pablo", "Пабло", "بابلو", "पाब्लो", "パブロ", "巴勃罗", "Pablo"),
    "olga": ("Olga", "Ольга", "أولغا", "ओल्गा", "オリガ", "奥尔加", "Olga"),
    "ivan": ("Ivan", "Иван", "إيفان", "इवान", "イワン", "伊万", "Ivan"),
    "fatima": ("Fatima", "Фатима", "فاطمة", "फ़ातिमा", "ファーティマ", "法蒂玛", "Fatima"),
    "ahmed": ("Ahmed", "Ахмед", "أحمد", "अहमद", "アフマド", "艾哈迈德", "Ahmed"),
    "priya": ("Priya", "Прия", "بريا", "प्रिया", "プリヤ", "普丽娅", "Priya"),
    "rahul": ("Rahul", "Рахул", "راهول", "राहुल", "ラフル", "拉胡尔", "Rahul"),
    "ayse": ("Ayşe", "Айше", "عائشة", "आयशे", "アイシェ", "阿伊谢", "Ayşe"),
    "mehmet": ("Mehmet", "Мехмет", "محمد", "मेहमत", "メフメト", "梅赫梅特", "Mehmet"),
    "yuki": ("Yuki", "Юки", "يوكي", "युकी", "由紀", "由纪", "Yuki"),
    "hiroshi": ("Hiroshi", "Хироси", "هيروشي", "हिरोशी", "浩", "浩", "Hiroshi"),
    "li_wei": ("Li Wei", "Ли Вэй", "لي وي", "ली वेई", "李偉", "李伟", "Lý Vĩ"),
    "wang_fang": ("Wang Fang", "Ван Фан", "وانغ فانغ", "वांग फ़ांग", "王芳", "王芳", "Vương Phương"),
    "amina": ("Amina", "Амина", "أمينة", "अमीना", "アミナ", "阿米娜", "Amina"),
    "juma": ("Juma", "Джума", "جمعة", "जुमा", "ジュマ", "朱马", "Juma"),
    "lan": ("Lan", "Лан", "لان", "लान", "ラン", "兰", "Lan"),
    "minh": ("Minh", "Минь", "مينه", "मिन्ह", "ミン", "明", "Minh"),
}

_CITY_ROWS = {
    # Latin-script languages differ here, so every language has its own column.
    # key:        en          de          fr          es            tr          sw          vi
    "paris": ("Paris", "Paris", "Paris", "París", "Paris", "Paris", "Paris"),
    "berlin": ("Berlin", "Berlin", "Berlin", "Berlín", "Berlin", "Berlin", "Berlin"),
    "tokyo": ("Tokyo", "Tokio", "Tokyo", "Tokio", "Tokyo", "Tokyo", "Tokyo"),
    "dubai": ("Dubai", "Dubai", "Dubaï", "Dubái", "Dubai", "Dubai", "Dubai"),
    "moscow": ("Moscow", "Moskau", "Moscou", "Moscú", "Moskova", "Moscow", "Moskva"),
    "istanbul": ("Istanbul", "Istanbul", "Istanbul", "Estambul", "İstanbul", "Istanbul", "Istanbul"),
    "beijing": ("Beijing", "Peking", "Pékin", "Pekín", "Pekin", "Beijing", "Bắc Kinh"),
    "nairobi": ("Nairobi", "Nairobi", "Nairobi", "Nairobi", "Nairobi", "Nairobi", "Nairobi"),
    "mumbai": ("Mumbai", "Mumbai", "Bombay", "Bombay", "Mumbai", "Mumbai", "Mumbai"),
    "hanoi": ("Hanoi", "Hanoi", "Hanoï", "Hanói", "Hanoi", "Hanoi", "Hà Nội"),
    "new_york": ("New York", "New York", "New York", "Nueva York", "New York", "New York", "New York"),
    "madrid": ("Madrid", "Madrid", "Madrid", "Madrid", "Madrid", "Madrid", "Madrid"),
}
_CITY_COLUMNS = ("en", "de", "fr", "es", "tr", "sw", "vi")

_CITY_NONLATIN = {
    # key:        ru, ar, hi, ja, zh
    "paris": ("Париж", "باريس", "पेरिस", "パリ", "巴黎"),
    "berlin": ("Берлин", "برلين", "बर्लिन", "ベルリン", "柏林"),
    "tokyo": ("Токио", "طوكيو", "टोक्यो", "東京", "东京"),
    "dubai": ("Дубай", "دبي", "दुबई", "ドバイ", "迪拜"),
    "moscow": ("Москва", "موسكو", "मॉस्को", "モスクワ", "莫斯科"),
    "istanbul": ("Стамбул", "إسطنبول", "इस्तांबुल", "イスタンブール", "伊斯坦布尔"),
    "beijing": ("Пекин", "بكين", "बीजिंग", "北京", "北京"),
    "nairobi": ("Найроби", "نيروبي", "नैरोबी", "ナイロビ", "内罗毕"),
    "mumbai": ("Мумбаи", "مومباي", "मुंबई", "ムンバイ", "孟买"),
    "hanoi": ("Ханой", "هانوي", "हनोई", "ハノイ", "河内"),
    "new_york": ("Нью-Йорк", "نيويورك", "न्यूयॉर्क", "ニューヨーク", "纽约"),
    "madrid": ("Мадрид", "مدريد", "मैड्रिड", "マドリード", "马德里"),
}

_ORG_ROWS = {
    # key:         latin         ru           ar            hi             ja               zh
    "siemens": ("Siemens", "Сименс", "سيمنس", "सीमेंस", "シーメンス", "西门子"),
    "toyota": ("Toyota", "Тойота", "تويوتا", "टोयोटा", "トヨタ", "丰田"),
    "google": ("Google", "Гугл", "غوغل", "गूगल", "グーグル", "谷歌"),
    "air_france": ("Air France", "Эр Франс", "إير فرانس", "एयर फ़्रांस", "エールフランス", "法国航空"),
}


def person_name(key: str, language: str) -> str:
    """The name of person ``key`` in ``language`` (nominative / citation form)."""
    row = dict(zip(_COLUMNS, _PERSON_ROWS[key], strict=True))
    return row.get(language, row["latin"])


def city_name(key: str, language: str) -> str:
    """The name of city ``key`` in ``language`` (nominative / citation form)."""
    if language in _CITY_COLUMNS:
        return _CITY_ROWS[key][_CITY_COLUMNS.index(language)]
    return _CITY_NONLATIN[key][("ru", "ar", "hi", "ja", "zh").index(language)]


def org_name(key: str, language: str) -> str:
    """The name of organisation ``key`` in ``language``."""
    row = dict(zip(_COLUMNS[:-1], _ORG_ROWS[key], strict=True))
    return row.get(language, row["latin"])
