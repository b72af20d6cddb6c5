"""Phrase banks for sample titles, abstracts, names and affiliations, per language and region."""

from __future__ import annotations

TITLE_TEMPLATES: dict[str, list[str]] = {
    "en": ["{a} of {b} in {c}", "Assessing {b} among {d} in {c}", "{a} and {b}: evidence from {c}"],
    "fr": ["{a} de {b} au {c}", "Évaluation de {b} chez {d} au {c}", "{a} et {b} : données du {c}"],
    "pt": ["{a} de {b} no {c}", "Avaliação de {b} entre {d} no {c}", "{a} e {b}: evidências do {c}"],
    "sw": ["{a} ya {b} katika {c}", "Tathmini ya {b} miongoni mwa {d} katika {c}", "{a} na {b} nchini {c}"],
    "ar": ["{a} {b} في {c}", "تقييم {b} لدى {d} في {c}", "{a} و{b}: أدلة من {c}"],
}

WORDS: dict[str, dict[str, list[str]]] = {
    "en": {
        "a": ["Effects", "Prevalence", "Determinants", "Economic returns", "Adoption", "Patterns"],
        "b": [
            "maize yield",
            "malaria treatment",
            "soil nitrogen",
            "mobile banking",
            "cassava blight",
            "maternal health services",
            "drought resilience",
            "school attendance",
        ],
        "c": ["northern Ghana", "the Ashanti region", "rural Kenya", "the Volta basin", "Kumasi"],
        "d": ["smallholder farmers", "women traders", "secondary school pupils", "community health workers"],
    },
    "fr": {
        "a": ["Effets", "Prévalence", "Déterminants", "Dynamique", "Adoption"],
        "b": [
            "la vaccination infantile",
            "l'anémie maternelle",
            "la culture de l'arachide",
            "l'accès à l'eau potable",
            "la santé bucco-dentaire",
            "la pêche artisanale",
        ],
        "c": ["Sénégal", "Sahel", "bassin arachidier"],
        "d": ["femmes enceintes", "élèves du primaire", "pêcheurs de Mbour", "agents de santé communautaire"],
    },
    "pt": {
        "a": ["Efeitos", "Prevalência", "Determinantes", "Dinâmica", "Impactos"],
        "b": ["desmatamento", "qualidade da água", "pesca artesanal", "biodiversidade de peixes", "uso do solo"],
        "c": ["Pará", "Amazonas", "estuário amazônico"],
        "d": ["comunidades ribeirinhas", "agricultores familiares", "estudantes universitários"],
    },
    "sw": {
        "a": ["Athari", "Kuenea", "Viashiria", "Mabadiliko", "Matumizi"],
        "b": [
            "mbolea ya samadi",
            "kilimo cha mahindi",
            "lugha ya Kiswahili",
            "huduma za afya ya mama",
            "ufugaji wa nyuki",
            "elimu ya watu wazima",
        ],
        "c": ["Tanzania", "Kenya", "Zanzibar", "mkoa wa Morogoro"],
        "d": ["wakulima wadogo", "wanafunzi wa sekondari", "wavuvi", "walimu"],
    },
    "ar": {
        "a": ["أثر", "انتشار", "محددات", "دينامية"],
        "b": ["الهجرة الداخلية", "التعليم الجامعي", "الموارد المائية", "التشغيل الذاتي", "الاقتصاد الاجتماعي"],
        "c": ["المغرب", "جهة سوس ماسة", "مدينة فاس"],
        "d": ["الشباب", "النساء القرويات", "طلبة الجامعات"],
    },
}

ABSTRACT_SENTENCES: dict[str, list[str]] = {
    "en": [
        "This study examines {b} in {c} using data collected between 2019 and 2023.",
        "A mixed-methods design combined a household survey with key informant interviews.",
        "Results show marked differences between districts and between seasons.",
        "We discuss implications for extension services and local policy.",
        "The findings support targeted investment in farmer training and rural infrastructure.",
    ],
    "fr": [
        "Cette étude analyse {b} au {c} à partir de données collectées entre 2019 et 2023.",
        "Une enquête transversale a été menée auprès de ménages tirés au sort.",
        "Les résultats montrent des disparités importantes entre les districts sanitaires.",
        "Nous discutons des implications pour les politiques publiques de santé.",
    ],
    "pt": [
        "Este estudo analisa {b} no {c} com dados coletados entre 2019 e 2023.",
        "Foram aplicados questionários e entrevistas semiestruturadas.",
        "Os resultados indicam diferenças significativas entre as estações seca e chuvosa.",
        "Discutimos as implicações para a gestão ambiental na região.",
    ],
    "sw": [
        "Utafiti huu unachunguza {b} katika {c} kwa kutumia data iliyokusanywa kati ya 2019 na 2023.",
        "Mbinu za dodoso na mahojiano zilitumika kukusanya taarifa.",
        "Matokeo yanaonyesha tofauti kubwa kati ya wilaya mbalimbali.",
        "Tunajadili athari za matokeo haya kwa sera za kilimo na elimu.",
    ],
    "ar": [
        "تتناول هذه الدراسة {b} في {c} اعتمادا على معطيات جمعت بين 2019 و2023.",
        "اعتمد البحث على استمارة ميدانية ومقابلات نصف موجهة.",
        "تبين النتائج وجود فوارق واضحة بين الوسطين الحضري والقروي.",
        "نناقش انعكاسات هذه النتائج على السياسات العمومية.",
    ],
}

KEYWORDS: dict[str, list[str]] = {
    "en": ["agriculture", "public health", "food security", "rural development", "climate", "education"],
    "fr": ["santé publique", "vaccination", "Sénégal", "nutrition", "épidémiologie"],
    "pt": ["Amazônia", "meio ambiente", "recursos hídricos", "pesca", "conservação"],
    "sw": ["kilimo", "afya", "elimu", "Kiswahili", "mazingira"],
    "ar": ["الهجرة", "التعليم", "التنمية", "الشباب", "المغرب"],
}

NAMES: dict[str, tuple[list[str], list[str]]] = {
    "GH": (
        ["Kwame", "Ama", "Kofi", "Akosua", "Yaw", "Efua", "Kwabena"],
        ["Mensah", "Owusu", "Boateng", "Asante", "Osei", "Appiah", "Darko"],
    ),
    "KE": (
        ["Wanjiru", "Otieno", "Achieng", "Kamau", "Njeri", "Mwangi"],
        ["Mwangi", "Odhiambo", "Kariuki", "Wambui", "Ochieng", "Njoroge"],
    ),
    "SN": (
        ["Awa", "Mamadou", "Fatou", "Cheikh", "Aminata", "Ousmane"],
        ["Diop", "Ndiaye", "Sow", "Fall", "Diallo", "Gueye"],
    ),
    "TZ": (
        ["Juma", "Neema", "Baraka", "Rehema", "Salim", "Zawadi"],
        ["Mushi", "Mrema", "Kimaro", "Swai", "Massawe", "Lyimo"],
    ),
    "BR": (
        ["Ana", "João", "Mariana", "Carlos", "Luíza", "Raimundo"],
        ["Silva", "Santos", "Oliveira", "Souza", "Ferreira", "Lima"],
    ),
    "MA": (
        ["Youssef", "Fatima Zahra", "Mohamed", "Khadija", "Hicham", "Salma"],
        ["El Amrani", "Benali", "Alaoui", "Bennani", "Tazi", "Idrissi"],
    ),
}

AFFILIATIONS: dict[str, list[str]] = {
    "GH": [
        "Department of Crop Science, Kwame Nkrumah University of Science and Technology, Kumasi, Ghana",
        "School of Public Health, University of Ghana, Legon, Ghana",
    ],
    "KE": [
        "School of Public Health, University of Nairobi, Nairobi, Kenya",
        "Kenya Agricultural and Livestock Research Organization, Nairobi, Kenya",
    ],
    "SN": [
        "Institut de Santé et Développement, Université Cheikh Anta Diop, Dakar, Sénégal",
        "Institut Pasteur de Dakar, Dakar, Sénégal",
    ],
    "TZ": [
        "Taasisi ya Taaluma za Kiswahili, Chuo Kikuu cha Dar es Salaam, Tanzania",
        "Sokoine University of Agriculture, Morogoro, Tanzania",
    ],
    "BR": [
        "Instituto de Ciências Biológicas, Universidade Federal do Pará, Belém, Brasil",
        "Museu Paraense Emílio Goeldi, Belém, Brasil",
    ],
    "MA": [
        "كلية العلوم القانونية والاقتصادية والاجتماعية، جامعة ابن زهر، أكادير، المغرب",
        "Faculté des Lettres et des Sciences Humaines, Université Sidi Mohamed Ben Abdellah, Fès, Maroc",
    ],
}
