"""Generate ``support_messages.csv``, the synthetic customer-support demo data set.

Every message is assembled from hand-written templates and slot fillers that
were written for Loopgate (no public data set was used). The output is fully
deterministic: the same script always writes byte-identical CSV.

Usage::

    python examples/data/make_support_messages.py            # writes next to this file
    python examples/data/make_support_messages.py out.csv    # writes elsewhere
"""

from __future__ import annotations

import csv
import random
import sys
from collections.abc import Callable
from pathlib import Path

SEED = 20260311
PER_LABEL = 80
MIXED_SHARE = 0.15
LABELS = ("refund", "billing_dispute", "technical", "account", "shipping")

# fmt: off
# --------------------------------------------------------------------------
# Slot fillers
# --------------------------------------------------------------------------

FIRST_NAMES = [
    "Anna", "Ben", "Chloe", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines",
    "Jonas", "Kemi", "Luca", "Maya", "Noah", "Olga", "Pedro", "Quinn", "Rosa",
    "Sanjay", "Tess", "Umar", "Vera", "Wei", "Yusuf", "Zoe",
]
LAST_NAMES = [
    "Abbott", "Bauer", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Hughes",
    "Ivanova", "Jensen", "Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor",
    "Patel", "Rossi", "Schmidt", "Tanaka", "Varga", "Walsh", "Young",
]
EMAIL_DOMAINS = ["gmail.com", "outlook.com", "yahoo.co.uk", "proton.me", "icloud.com",
                 "web.de", "acme-corp.com", "fastmail.fm"]
PRODUCTS = [
    "wireless headphones", "standing desk", "coffee grinder", "yoga mat", "air purifier",
    "phone case", "winter jacket", "running shoes", "blender", "desk lamp",
    "backpack", "smart watch", "bluetooth speaker", "kettle", "office chair",
    "set of kitchen knives", "bed sheets", "graphics tablet", "webcam", "hair dryer",
]
PLANS = ["Pro plan", "Premium subscription", "Team plan", "annual membership",
         "Basic plan", "Family plan", "Business tier"]
CARRIERS = ["DHL", "UPS", "FedEx", "DPD", "Royal Mail", "USPS", "GLS", "the courier"]
DEVICES = ["iPhone 13", "Pixel 7", "Samsung Galaxy S22", "iPad", "Windows 11 laptop",
           "MacBook Air", "Chromebook", "Android tablet", "Firefox on Ubuntu", "Safari on macOS"]
ERROR_CODES = ["ERR_502", "E-1043", "500 Internal Server Error", "error 0x80070005",
               "'Something went wrong (code 17)'", "TIMEOUT_API", "403 Forbidden", "SYNC_FAILED"]
FEATURES = ["export button", "search bar", "notification settings", "dashboard",
            "two-way sync", "CSV import", "reports page", "dark mode toggle",
            "calendar integration", "API", "file uploader", "mobile app", "invoice PDF download",
            "team chat", "photo gallery"]
CITIES = ["Lyon", "Leeds", "Austin", "Hamburg", "Porto", "Krakow", "Dublin", "Osaka",
          "Toronto", "Milan"]
MONTHS = ["Jan", "Feb", "March", "April", "May", "June", "July", "Aug", "Sept", "Oct",
          "Nov", "December"]


def _with_article(noun: str) -> str:
    """Prefix ``noun`` with a/an, or nothing for plurals like "running shoes"."""
    if noun.endswith("s") and not noun.startswith("set of"):
        return noun
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def order_id(rng: random.Random) -> str:
    """Return an order reference in one of the styles customers use."""
    n = rng.randint(10000, 99999)
    return rng.choice([f"ORD-{n}", f"ORD-{n}", f"ORD-{n}", f"order #{n}", f"ord-{n}", f"#{n}"])


def amount(rng: random.Random) -> str:
    """Return a money amount in a mix of currency formats."""
    value = rng.choice([rng.randint(5, 400), rng.randint(5, 2000) + rng.randint(0, 99) / 100])
    whole = float(value).is_integer()
    num = f"{value:.0f}" if whole else f"{value:.2f}"
    style = rng.randint(0, 6)
    if style == 0:
        return f"${num}"
    if style == 1:
        return f"€{num}"
    if style == 2:
        return f"{num} EUR"
    if style == 3:
        return f"£{num}"
    if style == 4:
        return f"{num.replace('.', ',')} euros"
    if style == 5:
        return f"USD {num}"
    return f"{num} dollars"


def date(rng: random.Random) -> str:
    """Return a date in ISO, numeric or written form."""
    y = rng.choice([2025, 2026])
    m = rng.randint(1, 12)
    d = rng.randint(1, 28)
    style = rng.randint(0, 5)
    if style == 0:
        return f"{y}-{m:02d}-{d:02d}"
    if style == 1:
        return f"{d:02d}/{m:02d}/{y}"
    if style == 2:
        return f"{MONTHS[m - 1]} {d}, {y}"
    if style == 3:
        return f"{d} {MONTHS[m - 1]}"
    if style == 4:
        return rng.choice(["last Monday", "yesterday", "two weeks ago", "last week",
                           "on Friday", "over the weekend", "this morning"])
    return f"the {d}th"


def email(rng: random.Random) -> str:
    """Return a plausible customer e-mail address."""
    first = rng.choice(FIRST_NAMES).lower()
    last = rng.choice(LAST_NAMES).lower()
    local = rng.choice([f"{first}.{last}", f"{first}{rng.randint(1, 99)}", f"{first[0]}{last}"])
    return f"{local}@{rng.choice(EMAIL_DOMAINS)}"


def invoice(rng: random.Random) -> str:
    """Return an invoice reference, including the word "invoice"."""
    return rng.choice([f"invoice INV-2026-{rng.randint(1, 9999):04d}",
                       f"invoice INV{rng.randint(10000, 99999)}",
                       f"invoice no. {rng.randint(100, 9999)}",
                       f"invoice #{rng.randint(1000, 99999)}"])


def phone(rng: random.Random) -> str:
    """Return a phone number in a national or international style."""
    style = rng.randint(0, 3)
    if style == 0:
        return f"+44 20 {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"
    if style == 1:
        return f"({rng.randint(200, 989)}) {rng.randint(200, 989)}-{rng.randint(1000, 9999)}"
    if style == 2:
        return f"+49 30 {rng.randint(100000, 999999)}"
    return "06 " + " ".join(str(rng.randint(10, 99)) for _ in range(4))


def iban(rng: random.Random) -> str:
    """Return a German-style IBAN with a correct check number, grouped in fours."""
    bban = "".join(str(rng.randint(0, 9)) for _ in range(18))
    digits = "".join(str(int(ch, 36)) for ch in bban + "DE00")
    check = 98 - int(digits) % 97
    compact = f"DE{check:02d}{bban}"
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


SLOTS: dict[str, Callable[[random.Random], str]] = {
    "order": order_id,
    "amount": amount,
    "amount2": amount,
    "date": date,
    "email": email,
    "email2": email,
    "invoice": invoice,
    "phone": phone,
    "iban": iban,
    "product": lambda r: r.choice(PRODUCTS),
    "a_product": lambda r: _with_article(r.choice(PRODUCTS)),
    "plan": lambda r: r.choice(PLANS),
    "carrier": lambda r: r.choice(CARRIERS),
    "device": lambda r: r.choice(DEVICES),
    "error": lambda r: r.choice(ERROR_CODES),
    "feature": lambda r: r.choice(FEATURES),
    "city": lambda r: r.choice(CITIES),
    "days": lambda r: str(r.randint(3, 21)),
    "card": lambda r: f"{r.randint(1000, 9999)}",
}

# --------------------------------------------------------------------------
# Templates (written for Loopgate)
# --------------------------------------------------------------------------

TEMPLATES: dict[str, list[str]] = {
    "refund": [
        "I bought the {product} as a gift and they already have one. Unopened. Can I return it "
        "for cash back?",
        "You said the money would be back in 5-7 working days. It's been {days}.",
        "The {product} was delivered after the date I needed it, so it's useless now. Please "
        "reverse the purchase.",
        "Can you send the refund to my bank account instead? The card I paid with was stolen.",
        "I was promised compensation of {amount} for the delayed order. Haven't received it.",
        "RMA number for the {product}, please. I want to send it back.",
        "What's your return window? I'd like to send back {order} and get reimbursed.",
        "My subscription was cancelled by you, not me, so I expect the remaining {amount} to be "
        "paid back.",
        "I only used the {plan} for one day and it was useless to me. Money back?",
        "The replacement {product} is also defective. At this point I just want a refund.",
        "I returned the {product} on {date} and still haven't got my money back. Order {order}.",
        "Please refund {amount} for {order}, the {product} doesn't work as advertised.",
        "I'd like to return my {product} and get a full refund.",
        "The {product} arrived broken. I don't want a replacement, just my money back please.",
        "How long does a refund take? I sent the parcel back {days} days ago.",
        "You promised a refund of {amount} on {date} but nothing has shown up on my card.",
        "I cancelled {order} within an hour of placing it, so why haven't I been refunded?",
        "Can I get a refund on the {plan}? I signed up by mistake and never used it.",
        "Return label used, tracking says you received it. Where is my refund for {order}?",
        "requesting a refund for the {product}, it's way smaller than the pictures",
        "I want my money back. {amount} for {a_product} that stopped working after a week is "
        "ridiculous.",
        "The store credit you gave me is not what I asked for - I need the refund to go back to "
        "my original payment method.",
        "Is it possible to get a partial refund? The {product} has a scratch but I'll keep it.",
        "My refund for {order} was only {amount}, but I paid {amount2}. Please send the rest.",
        "Your 30 day money-back guarantee - I'd like to use it for my {plan}.",
        "I was told the refund was processed on {date}. My bank says nothing arrived. Can you "
        "check?",
        "Two items were missing from {order} so I'd like those refunded, not re-sent.",
        "Please cancel my order and refund me, I found the {product} cheaper elsewhere.",
        "Return request for {order}: wrong size. Refund to my card ending {card} please.",
        "The event was cancelled so I should be getting my {amount} back, right?",
        "I sent back the {product} in its original packaging. Still waiting on the reimbursement.",
        "Can you confirm whether my refund of {amount} has been approved?",
        "Got an email saying 'refund issued' but it's been {days} days and nothing.",
        "Not happy with the {product} at all. How do I return it for a refund?",
        "Could you reimburse me for the {product}? It was faulty out of the box.",
        "I downgraded from the {plan} on {date}; I'm owed a prorated refund.",
        "money back please, {order}, item never worked",
        "The refund for my returned {product} went to an old card I closed. What happens now?",
        "Please transfer the {amount} refund to my bank account instead, IBAN {iban}.",
        "The parcel came back to you as undeliverable, so please refund {order} instead of "
        "resending.",
        "I was charged for express shipping but it came standard. Can I get the {amount} "
        "difference back?",
        "Your app crashed during checkout and I ended up with two orders. Cancel one and refund "
        "it please.",
        "I closed my account on {date}, please refund the unused part of my {plan}.",
    ],
    "billing_dispute": [
        "Your {invoice} lists items we never received. We won't pay it until it's "
        "corrected.",
        "The discount we negotiated ({amount} off per month) is missing from the last three "
        "invoices.",
        "I'm being charged in advance for next year already? I didn't agree to that.",
        "Card ending {card}: {amount} taken on {date} and again on the next day. Same order.",
        "Why am I still paying for the {plan} after I downgraded to free?",
        "Please send the payment breakdown for {invoice}, the total makes no sense to me.",
        "Your payment page showed {amount2} including tax, then my statement showed {amount}.",
        "I want this charge reversed. I never received a confirmation email, I never bought "
        "anything.",
        "Pre-authorisation of {amount} was never released even though the order was cancelled.",
        "We get billed per user, but deactivated users are still counted on {invoice}.",
        "I was charged twice for {order} - {amount} appears two times on my statement.",
        "There is a charge of {amount} on {date} that I don't recognise. I never authorised it.",
        "Why was I billed for the {plan}? I cancelled it on {date}.",
        "My {invoice} says {amount} but the agreed price was {amount2}.",
        "You charged my card ending {card} {amount} without my permission.",
        "I'm disputing the charge from {date}. The price at checkout was lower than what was "
        "taken.",
        "The {plan} renewed automatically and charged {amount} even though auto-renew was off.",
        "I see a duplicate payment on my bank statement for {invoice}. Please reverse one of them.",
        "Hidden fees! The total on {order} went up by {amount} after I paid.",
        "I've been overcharged. The promo code should have taken {amount} off and it didn't apply.",
        "Why is there a {amount} 'service fee' on my bill? Nobody mentioned that.",
        "I will file a chargeback with my bank unless this unauthorized charge of {amount} is "
        "explained.",
        "Your system billed me in dollars instead of euros and now I'm out {amount} on exchange "
        "fees.",
        "The {invoice} has the wrong VAT amount, please correct and reissue it.",
        "I was billed for 5 seats on the {plan} but we only have 3 users.",
        "Charged {amount} for a free trial that was supposed to be free until {date}.",
        "My bank flagged a suspicious transaction from your company for {amount}. I did not make "
        "it.",
        "the monthly charge went from {amount2} to {amount} with no notice, i want this looked at",
        "Please explain the charge on {date}. I don't have any order with you that month.",
        "Tax was added twice on {invoice}. I'm contesting the amount.",
        "I paid {invoice} already on {date} but you sent a reminder and charged late fees.",
        "Both my credit card and PayPal were charged for {order}. That's {amount} twice.",
        "Your billing department keeps charging me after I closed the account. Stop it.",
        "The price shown was {amount2}, I was charged {amount}. Please fix the difference.",
        "I never agreed to the upgrade to {plan}, so I dispute that invoice.",
        "Someone at my company got invoiced {amount} for a plan we never ordered, {email}.",
        "disputing transaction {date}, amount {amount}, card {card}. not me.",
        "We were charged the annual price for the {plan} but selected monthly billing.",
        "Refund? No, I want to know why you took {amount} from my account on {date} at all.",
        "The app glitched and charged my card three times for one order. Fix the billing please.",
        "I was billed {amount} for shipping on {order} although delivery was supposed to be free.",
        "Someone got into my account and ordered things on my card, I don't accept these charges.",
    ],
    "technical": [
        "Login button does nothing on {device}, the spinner runs forever.",
        "The app shows a white screen after I enter my PIN. Reinstalling didn't help.",
        "Emails from your system land in spam and the links in them are broken.",
        "The barcode scanner feature crashes the app instantly on {device}.",
        "Our SSO integration stopped accepting logins today with {error}.",
        "Audio in the video tutorials is out of sync with the picture.",
        "The sync icon is spinning for {days} hours, nothing uploads.",
        "I'm a developer and your REST endpoint for orders returns an empty list, docs say it "
        "shouldn't.",
        "Widgets on the home screen don't refresh anymore since iOS updated.",
        "Is there an outage? Nothing works for me or my team right now.",
        "The app crashes every time I open the {feature} on my {device}.",
        "I'm getting {error} when I try to use the {feature}.",
        "Since the last update the {feature} is really slow, takes a minute to load.",
        "The {feature} is just blank on {device}. Cleared cache, still blank.",
        "Sync between my phone and laptop stopped working on {date}.",
        "Your website won't load at all, just spins. Tried two browsers.",
        "The API returns {error} for every request since this morning. Our integration is down.",
        "When I click the {feature} nothing happens. No error, just nothing.",
        "Notifications aren't coming through on my {device} even though they're switched on.",
        "Uploading a file bigger than 10 MB fails with {error}.",
        "The app keeps logging me out every few minutes on {device}, is this a bug?",
        "Bug report: the {feature} shows the wrong timezone, times are off by one hour.",
        "After updating to the newest version the app freezes on the splash screen.",
        "The CSV export is missing half the columns. It used to work last week.",
        "Checkout page throws {error} when I press pay, tried 3 cards.",
        "Can't scan the QR code, the camera just shows a black screen on my {device}.",
        "Dark mode makes the text unreadable in the {feature}, white on white.",
        "The webhook isn't firing anymore. Nothing has changed on our side.",
        "The desktop app uses 100% CPU and my {device} gets really hot.",
        "Getting a certificate warning when visiting your site from {city}. Is it safe?",
        "Images don't load in the mobile app, only grey boxes. Wifi is fine.",
        "Data I entered yesterday disappeared from the {feature}. Is there a backup?",
        "Search returns no results even for things I know exist.",
        "the app wont install on my {device}, says incompatible",
        "Printing invoices from the billing page produces an empty PDF.",
        "Integration with our CRM broke, we get {error} in the logs.",
        "Two-factor codes from the authenticator are rejected with {error}, clock is correct.",
        "Page keeps reloading in a loop on {device}, can't do anything.",
        "The tracking page gives {error} so I can't see where my parcel is.",
        "Password reset link opens a page that says {error}. Tried on {device} too.",
        "Payment form rejects my card with {error} even though the bank says it's fine.",
        "The refund request form won't submit, the button stays grey.",
    ],
    "account": [
        "My account shows the wrong country and I can't change it myself.",
        "How do I switch from a personal to a business account?",
        "I'm not receiving the SMS code when I try to sign in.",
        "Two people share my login, can I create a separate user for my assistant?",
        "Please confirm that my account and data have been fully erased as I requested on {date}.",
        "I'm trying to sign up but it says my email {email} is already registered.",
        "Change my account language to German please, I can't find the setting.",
        "I got an email that my password was changed, but it wasn't me!",
        "My student discount verification failed, please verify my account manually.",
        "How can I recover an account when I no longer have access to {email}?",
        "I forgot my password and the reset email never arrives at {email}.",
        "How do I change the email on my account from {email} to {email2}?",
        "Please delete my account and all my personal data.",
        "My account is locked after too many login attempts. Can you unlock it?",
        "I lost my phone and can't get the two-factor code. How do I get back into my account?",
        "I think someone else logged into my account from {city}. Please secure it.",
        "Can I merge my two accounts? One is under {email}, the other {email2}.",
        "I need to update my billing address and phone number in my profile.",
        "How do I add a colleague to our team account?",
        "I never signed up but I'm getting emails addressed to my account, {email}.",
        "Can you change the name on my account? I got married and my surname changed.",
        "I want to transfer ownership of the workspace to {email}.",
        "Please remove my old username, I want to pick a new one.",
        "How can I download a copy of all the data you hold about me (GDPR request)?",
        "My account got suspended without any explanation. What did I do?",
        "The verification email link has expired, can you send a new one to {email}?",
        "I'd like to close my account but keep my order history. Possible?",
        "Can't log in with Google anymore, it says no account found for {email}.",
        "I created an account by accident with a typo in my email, {email}. Can you fix it?",
        "How do I turn on two-factor authentication?",
        "please reset my password, locked out since {date}",
        "I'm the admin and I need to remove an ex-employee's access right away.",
        "Why does my profile still show my old address in {city}?",
        "Can I have my account reactivated? I deactivated it a few months ago.",
        "I want to unsubscribe from all marketing emails and change my privacy settings.",
        "Security question answers don't work anymore, I'm sure they are right.",
        "My kid made a profile on my account, how do I remove it?",
        "Update my account email to {email2} please, the old one is not used any more.",
        "Please change the default shipping address saved in my account to my new flat in {city}.",
        "I need the company name on my account changed so future invoices show it correctly.",
        "I can't log in, the app says my account doesn't exist, but I ordered last month.",
        "Remove my saved card from the account please, I don't want it stored.",
    ],
    "shipping": [
        "Can you tell me which carrier you use for deliveries to {city}?",
        "The tracking shows my parcel went to {city} instead of coming to me.",
        "Can I add something to {order} before it ships so it comes in one box?",
        "What are the shipping costs for a heavy item like a {product}?",
        "Parcel has been 'out for delivery' for three days now.",
        "I'm moving next week. Can you redirect {order} to my new place?",
        "{carrier} wants me to pay import duties of {amount}. Nobody told me about that when I "
        "ordered.",
        "Ordered on {date}, still says 'processing'. When will it actually be sent?",
        "Can the courier call me before arriving? The building has no doorbell.",
        "The package was delivered to the wrong flat number, the neighbour gave it to me opened.",
        "Where is my order {order}? It was supposed to arrive on {date}.",
        "Tracking for {order} hasn't updated in {days} days.",
        "{carrier} says delivered but there's no parcel at my door.",
        "Can I change the delivery address for {order}? I moved to {city}.",
        "My package is stuck in customs. Do I need to pay something?",
        "How long does shipping to {city} usually take?",
        "The parcel was left with a neighbour I don't know. Very frustrating.",
        "I paid for express delivery and it's been {days} days. Where is it?",
        "{carrier} tried to deliver while I was home and left a note saying nobody answered.",
        "Can you ship to a PO box?",
        "The tracking number you sent doesn't work on the {carrier} website.",
        "Order {order} was split into two shipments, only one has arrived.",
        "Is it possible to pick up my {product} from a store instead of delivery?",
        "Package arrived but the box was crushed and the {product} is dented. Can you send "
        "another?",
        "I received somebody else's order, not my {product}.",
        "Delivery estimate keeps moving, first {date}, now a week later.",
        "Do you deliver on Saturdays? I'm not home during the week.",
        "The courier returned my parcel to the warehouse. Please resend {order}.",
        "My order shows 'label created' since {date} but nothing has been shipped.",
        "when will {order} be dispatched?? its been ages",
        "Could {carrier} leave the package at the back door next time?",
        "Wrong item in my parcel: ordered {a_product}, got something else entirely.",
        "Shipping to {city} says unavailable at checkout. Do you ship there?",
        "I need my {product} before {date}, can you upgrade the shipping?",
        "Part of order {order} is missing from the box. Can you send the rest?",
        "The delivery driver was rude and threw the parcel over the fence.",
        "Can I hold the shipment until I'm back from holiday on {date}?",
        "Lost parcel. {carrier} says it's not their problem. Order {order}.",
        "It's been {days} days and my {product} still hasn't come. If it doesn't arrive by "
        "{date} I'll want a refund.",
        "The delivery fee was {amount} and the box still showed up late.",
        "The app shows my order as delivered to an address in {city} I've never lived at.",
        "My {product} got sent to my old address even though I updated my account.",
    ],
}

SHORT = {
    "refund": ["refund pls", "I want my money back.", "Refund for {order}?", "still no refund!!",
               "how do i return this and get refunded", "Where's my refund?"],
    "billing_dispute": ["double charged!!", "Unknown charge of {amount} on my card?",
                        "why did you bill me again", "wrong amount on {invoice}",
                        "I did not authorise this payment."],
    "technical": ["app broken", "site down?", "getting {error}", "it keeps crashing",
                  "nothing loads on {device}"],
    "account": ["cant login", "reset password", "delete my account", "locked out again",
                "change email to {email}"],
    "shipping": ["where is my parcel", "{order} not arrived", "tracking not updating",
                 "when does it ship?", "package missing"],
}

LABEL_CONTEXT = {
    "refund": [
        "I'd prefer the money back to my PayPal.", "The return was accepted by your warehouse.",
        "I still have the receipt.", "I don't want store credit.",
        "Your returns policy says 14 days and I'm within that.",
    ],
    "billing_dispute": [
        "I checked my bank statement twice.", "My bank says the merchant has to correct it.",
        "I have a screenshot of the original price.", "This is not the first billing mistake.",
        "I expect a corrected invoice.",
    ],
    "technical": [
        "I already reinstalled the app.", "It happens on wifi and mobile data.",
        "Tried logging out and back in, same thing.", "Version {days}.2.1 if that helps.",
        "My colleague has the same problem.",
    ],
    "account": [
        "I have access to the email address but not the phone.", "I can verify my identity.",
        "This is for privacy reasons.", "Our admin left the company.",
        "The account is registered to {email}.",
    ],
    "shipping": [
        "I've been checking the tracking every day.", "Nobody rang the bell.",
        "The neighbours haven't seen anything either.", "I live in {city}.",
        "It's a gift so it matters when it arrives.",
    ],
}

GENERIC_CONTEXT = [
    "I've been a customer for years.", "I already contacted you via chat on {date}.",
    "Nobody answered my last email.", "Sorry for my english.", "This is really urgent.",
    "Honestly I'm losing patience.", "I attached a screenshot.", "My email is {email}.",
    "Reference {order} just in case.", "My partner placed the order under {email}.",
]

OPENERS = [
    "", "", "", "", "Hi, ", "Hello, ", "Hi there! ", "Good morning, ", "Hey, ",
    "Dear support team, ", "To whom it may concern: ", "URGENT: ", "Quick question - ",
    "Hi team, ", "Hello again, ",
]
CLOSERS = [
    "", "", "", "", " Thanks.", " Thank you!", " Thanks in advance.", " Regards, {name}",
    " Please help.", " This is the second time I'm writing.", " Cheers, {name}",
    " I need an answer today.", " - {name}", " My email is {email}.", " Kind regards",
    " Very disappointed.", " Appreciate it!", " Reply to {email} please.",
    " You can call me on {phone}.", " Phone: {phone}",
]

# fmt: on


def _fill(template: str, rng: random.Random) -> str:
    values = {key: make(rng) for key, make in SLOTS.items()}
    values["name"] = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    return template.format(**values)


def _typo(text: str, rng: random.Random) -> str:
    """Swap two adjacent letters inside one random longer word."""
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) > 4 and w.isalpha()]
    if not candidates:
        return text
    i = rng.choice(candidates)
    w = words[i]
    j = rng.randint(1, len(w) - 3)
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def _join(opener: str, body: str) -> str:
    """Attach an opener, lower-casing the body start after a comma or dash."""
    if opener.endswith((", ", "- ")) and not body.startswith(("I ", "I'", "ORD", "INV")):
        body = body[0].lower() + body[1:]
    return opener + body


def make_message(label: str, rng: random.Random) -> str:
    """Build one message for ``label`` from a template plus decorations."""
    if rng.random() < 0.07:
        return _fill(rng.choice(SHORT[label]), rng)
    parts = [_fill(rng.choice(TEMPLATES[label]), rng)]
    if rng.random() < 0.3:
        parts.append(_fill(rng.choice(LABEL_CONTEXT[label]), rng))
    if rng.random() < 0.25:
        parts.insert(rng.randint(0, len(parts)), _fill(rng.choice(GENERIC_CONTEXT), rng))
    if rng.random() < MIXED_SHARE:
        # Real tickets often raise a second, smaller issue; the label stays the main one.
        other = rng.choice([name for name in LABELS if name != label])
        aside = _fill(rng.choice(SHORT[other] + TEMPLATES[other]), rng)
        parts.append(
            rng.choice(["Also, ", "And ", "Oh and ", "Unrelated, but "])
            + aside[0].lower()
            + aside[1:]
        )
    for i, part in enumerate(parts[:-1]):
        if part[-1] not in ".!?":
            parts[i] = part + "."
    text = _join(_fill(rng.choice(OPENERS), rng), " ".join(parts))
    closer = _fill(rng.choice(CLOSERS), rng)
    if closer and text[-1] not in ".!?":
        text += "."
    text += closer
    roll = rng.random()
    if roll < 0.2:
        text = _typo(text, rng)
    elif roll < 0.27:
        text = text.lower()
    elif roll < 0.3:
        text = text.rstrip(".!") + "!!!"
    return text


def generate(per_label: int = PER_LABEL, seed: int = SEED) -> list[tuple[str, str]]:
    """Return ``per_label`` unique ``(text, label)`` rows per label, shuffled."""
    rng = random.Random(seed)
    rows: list[tuple[str, str]] = []
    seen: set[str] = set()
    for label in LABELS:
        count = 0
        while count < per_label:
            text = make_message(label, rng)
            if text in seen:
                continue
            seen.add(text)
            rows.append((text, label))
            count += 1
    rng.shuffle(rows)
    return rows


def main(argv: list[str]) -> None:
    """Write the CSV to ``argv[0]`` or next to this script."""
    out = Path(argv[0]) if argv else Path(__file__).with_name("support_messages.csv")
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["text", "label"])
        writer.writerows(generate())
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
