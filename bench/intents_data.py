"""A generated customer-support intent data set: 30 intents, 6,600 rows, seeded.

Nothing is downloaded: every row is built here from paraphrase templates per intent,
slot fillers (products, order numbers, amounts, dates, names, plans), politeness and
noise phrases around the request, and keyboard typos. Several intents are genuinely
confusable (refund / cancel order / return / exchange; delivery delayed / track order /
missing item; double charged / payment failed / refund; cancel subscription / change
plan / delete account), so a classifier trained on a few examples is far from perfect.

``generate(seed)`` gives the same rows for the same seed; ``python -m bench.intents_data
--out FILE.csv`` writes them as a training file (columns ``text``, ``label``).
"""

from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

PRODUCTS = [
    "headphones",
    "blender",
    "running shoes",
    "laptop bag",
    "coffee maker",
    "phone case",
    "winter jacket",
    "desk lamp",
    "yoga mat",
    "smart watch",
    "air fryer",
    "backpack",
    "bluetooth speaker",
    "office chair",
    "kettle",
    "jeans",
    "sofa cushion",
    "monitor",
    "vacuum cleaner",
    "toaster",
    "sunglasses",
    "hoodie",
    "gaming mouse",
    "water bottle",
]
NAMES = ["Maria", "John", "Priya", "Ahmed", "Chen", "Sofia", "Lukas", "Emma", "Diego", "Aisha"]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
PLANS = ["basic", "premium", "family", "pro", "student", "business"]
CITIES = ["Berlin", "Leeds", "Austin", "Lyon", "Toronto", "Porto", "Dublin", "Oslo"]

PREFIXES = [
    "",
    "",
    "",
    "",
    "hi, ",
    "hello, ",
    "hey there. ",
    "good morning, ",
    "hi team, ",
    "excuse me, ",
    "sorry to bother you, ",
    "quick question: ",
    "urgent: ",
    "hello support, ",
    "hi, this is {name}. ",
    "dear customer service, ",
    "ok so ",
    "um, ",
]
SUFFIXES = [
    "",
    "",
    "",
    "",
    " thanks",
    " thank you",
    " please",
    " asap",
    " thanks in advance",
    " cheers",
    " this is really frustrating",
    " any help appreciated",
    "!!",
    "?",
    " - {name}",
    " I've been a customer for years",
    " let me know",
    " it's for my mum",
]

# Intent -> paraphrase templates. Slots: {product} {order} {amount} {date} {name} {plan}
# {city} {code} {day} {card}.
INTENTS: dict[str, list[str]] = {
    "refund_request": [
        "I want a refund for the {product}",
        "can I get my money back for order {order}",
        "please refund the {amount} I paid for the {product}",
        "how long does a refund take to reach my card",
        "I returned the {product} on {date} and still have no refund",
        "where is my refund for order {order}",
        "I'd like to be reimbursed for the {product}",
        "refund me please, the {product} was not what I expected",
        "I sent the item back, when do I get my {amount} back",
        "the refund for {order} hasn't shown up on my statement",
        "is it possible to get a full refund on the {product}",
        "I want my {amount} back",
    ],
    "cancel_order": [
        "please cancel my order {order}",
        "I want to cancel the {product} I ordered today",
        "can I still cancel order {order} before it ships",
        "cancel my order, I changed my mind",
        "I ordered the {product} by mistake, please cancel it",
        "how do I cancel an order I placed on {date}",
        "stop my order {order} from being sent",
        "I no longer need the {product}, cancel the purchase",
        "cancel order {order} and refund me",
        "is it too late to cancel the {product}",
        "I placed two orders by accident, cancel one of them",
    ],
    "return_item": [
        "how do I return the {product}",
        "I want to send back the {product}",
        "can I return an item I bought on {date}",
        "what is your return policy",
        "I need a return label for order {order}",
        "the {product} doesn't fit, I want to return it",
        "where do I drop off a return",
        "can I return the {product} without the box",
        "how many days do I have to return the {product}",
        "I want to return the {product} and get my money back",
        "return the {product} from order {order}",
    ],
    "exchange_item": [
        "can I exchange the {product} for a different size",
        "I want to swap the {product} for another colour",
        "exchange the {product} from order {order} for a bigger one",
        "the {product} is too small, can I get a larger one instead",
        "how do I exchange an item",
        "I'd like to trade the {product} for the newer model",
        "can you send me a different size of the {product} and I'll send this one back",
        "I want a replacement {product} in black instead",
    ],
    "track_order": [
        "where is my order {order}",
        "can you track order {order} for me",
        "what is the status of my {product} order",
        "has my order shipped yet",
        "I need the tracking number for order {order}",
        "when will the {product} arrive",
        "track my package please",
        "is order {order} out for delivery",
        "which courier is delivering my {product}",
        "my tracking link doesn't work for {order}",
    ],
    "delivery_delayed": [
        "my order {order} is late",
        "the {product} was supposed to arrive on {date} and it hasn't",
        "why is my delivery taking so long",
        "it's been two weeks and still no {product}",
        "the delivery date keeps getting pushed back",
        "order {order} is delayed again",
        "I paid for express shipping and the {product} is still not here",
        "my parcel has been stuck in transit since {day}",
        "the estimated delivery was {date}, where is it",
    ],
    "missing_item": [
        "my package arrived but the {product} was missing",
        "order {order} came without the {product}",
        "one item is missing from my delivery",
        "I only received part of order {order}",
        "the box was empty when it arrived",
        "the tracking says delivered but I never got the {product}",
        "the {product} wasn't in the parcel",
        "I ordered three things and got two",
    ],
    "wrong_item_received": [
        "I received the wrong item",
        "I ordered a {product} but got something else",
        "you sent me the wrong size of the {product}",
        "order {order} contained someone else's items",
        "this is not the {product} I ordered",
        "wrong colour {product} delivered",
        "I got a {product} instead of what I paid for",
    ],
    "damaged_item": [
        "my {product} arrived broken",
        "the {product} is damaged",
        "the box was crushed and the {product} is cracked",
        "order {order} arrived with a scratched {product}",
        "the {product} stopped working after one day",
        "the screen of the {product} was smashed on arrival",
        "there's a dent in the {product} I just received",
        "the {product} is leaking",
    ],
    "change_shipping_address": [
        "I need to change the delivery address for order {order}",
        "can I ship the {product} to a different address",
        "I moved to {city}, please update my shipping address",
        "wrong address on order {order}, can you fix it",
        "send my order to my office instead",
        "update the address on my order before it ships",
        "can I redirect the parcel to my neighbour {name}",
    ],
    "payment_failed": [
        "my payment keeps failing",
        "the checkout says my card was declined",
        "I can't pay for the {product}",
        "payment error when I try to order",
        "why was my card ending {card} rejected",
        "the payment page gives an error",
        "I tried to pay {amount} three times and it doesn't go through",
        "my transaction failed but I'm not sure if I was charged",
    ],
    "double_charged": [
        "I was charged twice for order {order}",
        "you took {amount} from my account two times",
        "there are two identical charges on my card",
        "I see a duplicate payment for the {product}",
        "why was I billed twice this month",
        "my bank shows the same charge of {amount} twice",
        "I paid once but got charged again",
    ],
    "update_payment_method": [
        "how do I change my card on file",
        "I want to update my payment method",
        "add a new credit card to my account",
        "my card expired, how do I replace it",
        "can I pay with PayPal instead of my card",
        "remove the card ending {card} from my account",
        "switch my billing to a different card",
    ],
    "invoice_request": [
        "can I get an invoice for order {order}",
        "I need a receipt for the {product}",
        "please send me a VAT invoice",
        "where can I download my invoices",
        "I need a copy of the bill from {date} for my expenses",
        "can you put my company name on the invoice",
        "send the receipt for {amount} to my email",
    ],
    "apply_discount_code": [
        "my discount code {code} isn't working",
        "how do I use a promo code",
        "I forgot to apply my coupon {code}, can you add it",
        "the voucher {code} says it's expired",
        "where do I enter a discount code",
        "can I use two promo codes on one order",
        "the 20% off code didn't apply to the {product}",
    ],
    "price_match": [
        "I saw the {product} cheaper on another site, can you match the price",
        "the {product} dropped in price the day after I bought it",
        "do you offer price matching",
        "can I get the difference back, it's on sale now",
        "another store sells the {product} for {amount}, will you match it",
        "the price went down after my order {order}, can you refund the difference",
    ],
    "reset_password": [
        "I forgot my password",
        "how do I reset my password",
        "the password reset email never arrives",
        "I can't remember my login password",
        "reset password link is not working",
        "I need a new password for my account",
        "help me change my password",
    ],
    "account_locked": [
        "my account is locked",
        "I've been locked out after too many attempts",
        "it says my account is suspended",
        "I can't log in, it says account disabled",
        "why was my account blocked",
        "unlock my account please",
        "I get an error saying my account is temporarily locked",
    ],
    "update_email": [
        "I want to change the email on my account",
        "how do I update my email address",
        "please change my email to {name}@example.com",
        "I no longer use my old email",
        "my email address changed, how do I update my profile",
        "update my contact details",
    ],
    "delete_account": [
        "please delete my account",
        "I want to close my account permanently",
        "how do I remove all my data",
        "delete my profile and personal information",
        "I don't want an account with you anymore",
        "erase my account under GDPR",
        "close my account and unsubscribe me from everything",
    ],
    "change_subscription_plan": [
        "I want to upgrade to the {plan} plan",
        "how do I switch from {plan} to a cheaper plan",
        "can I downgrade my subscription",
        "change my plan to {plan}",
        "what's the difference between the {plan} and premium plans",
        "move me to the {plan} plan from next month",
        "I want more features, upgrade my plan",
    ],
    "cancel_subscription": [
        "cancel my subscription",
        "I want to stop my {plan} membership",
        "how do I end my monthly plan",
        "please don't renew my subscription",
        "stop charging me every month",
        "I want to unsubscribe from the {plan} plan",
        "turn off auto renewal on my account",
    ],
    "product_availability": [
        "is the {product} in stock",
        "when will the {product} be available again",
        "do you have the {product} in size M",
        "is the {product} available in {city}",
        "the {product} says sold out, will you restock it",
        "can I pre-order the {product}",
        "do you still sell the {product}",
    ],
    "product_information": [
        "what material is the {product} made of",
        "how big is the {product}",
        "does the {product} come with a charger",
        "is the {product} waterproof",
        "what are the dimensions of the {product}",
        "is the {product} compatible with my phone",
        "how much does the {product} weigh",
        "what colours does the {product} come in",
    ],
    "warranty_claim": [
        "my {product} is still under warranty and it broke",
        "how do I make a warranty claim for the {product}",
        "what does the warranty cover",
        "the {product} I bought on {date} has a defect",
        "can I get the {product} repaired under guarantee",
        "is the {product} covered by a two year warranty",
    ],
    "technical_issue_app": [
        "the app keeps crashing",
        "I can't log in on the mobile app, it just freezes",
        "your website is not loading",
        "the checkout button does nothing",
        "the app shows a blank screen after the update",
        "I get error 500 on your site",
        "notifications from the app stopped working",
    ],
    "speak_to_agent": [
        "can I talk to a human",
        "I want to speak to a real person",
        "connect me with an agent please",
        "is there a phone number I can call",
        "let me talk to a manager",
        "I don't want a bot, give me a person",
        "how do I reach customer service by phone",
    ],
    "complaint_feedback": [
        "I want to make a complaint about your service",
        "your courier was very rude",
        "this is the worst service I've ever had",
        "I'm very disappointed with my experience",
        "I'd like to give some feedback about the delivery driver",
        "your staff in the {city} store were unhelpful",
        "I want to report a bad experience with {name}",
    ],
    "store_hours_location": [
        "what time do you open on {day}",
        "where is your nearest store in {city}",
        "are you open on public holidays",
        "what are your opening hours",
        "is the {city} store open on {day}",
        "how late is the shop open tonight",
    ],
    "gift_card_balance": [
        "how do I check my gift card balance",
        "how much is left on my gift card",
        "my gift card {code} isn't working",
        "can I use a gift card online",
        "I received a gift card from {name}, how do I redeem it",
        "does my gift card expire",
    ],
}

_KEYBOARD_NEIGHBOURS = {
    "a": "sq",
    "e": "wr",
    "i": "uo",
    "o": "ip",
    "n": "bm",
    "r": "et",
    "t": "ry",
    "s": "ad",
    "l": "k",
    "d": "sf",
    "c": "xv",
    "u": "yi",
    "m": "n",
    "h": "gj",
    "g": "fh",
}


def _fill(template: str, rng: random.Random) -> str:
    """Put slot fillers into a template."""
    values = {
        "product": rng.choice(PRODUCTS),
        "order": rng.choice(["#", "", "order ", "no. "]) + str(rng.randint(100000, 999999)),
        "amount": rng.choice(["$", "€", "£"])
        + f"{rng.randint(5, 900)}"
        + rng.choice(["", ".99", ".50", ".00"]),
        "date": rng.choice(
            [
                f"{rng.randint(1, 28)} {rng.choice(MONTHS)}",
                rng.choice(DAYS).lower(),
                f"{rng.randint(1, 12)}/{rng.randint(1, 28)}",
                "last week",
                "yesterday",
            ]
        ),
        "name": rng.choice(NAMES),
        "plan": rng.choice(PLANS),
        "city": rng.choice(CITIES),
        "code": rng.choice(["SAVE", "WELCOME", "SPRING", "VIP", "GIFT"]) + str(rng.randint(5, 50)),
        "day": rng.choice(DAYS),
        "card": str(rng.randint(1000, 9999)),
    }
    return template.format(**values)


def _typo(text: str, rng: random.Random) -> str:
    """One keyboard slip: a swapped, dropped, doubled or neighbouring letter."""
    positions = [i for i, ch in enumerate(text) if ch.isalpha()]
    if len(positions) < 4:
        return text
    i = rng.choice(positions[1:-1])
    kind = rng.random()
    if kind < 0.3 and i + 1 < len(text):
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if kind < 0.55:
        return text[:i] + text[i + 1 :]
    if kind < 0.75:
        return text[:i] + text[i] + text[i:]
    near = _KEYBOARD_NEIGHBOURS.get(text[i].lower())
    return text[:i] + (rng.choice(near) if near else text[i]) + text[i + 1 :]


def _style(text: str, rng: random.Random) -> str:
    """Politeness and noise around the request, casing, punctuation and typos."""
    text = _fill(rng.choice(PREFIXES), rng) + text + _fill(rng.choice(SUFFIXES), rng)
    roll = rng.random()
    if roll < 0.45:
        text = text[0].upper() + text[1:]
    elif roll < 0.5:
        text = text.upper()
    if rng.random() < 0.3 and not text.endswith(("?", "!", ".")):
        text += rng.choice([".", "?", "!", "..."])
    for _ in range(rng.choice([0, 0, 0, 1, 1, 2])):
        text = _typo(text, rng)
    return text


def generate(seed: int = 7, per_intent: int = 220) -> tuple[list[str], list[str]]:
    """The data set: ``(texts, labels)``, ``per_intent`` distinct rows per intent, shuffled.

    The same ``seed`` gives the same rows in the same order.
    """
    rng = random.Random(seed)
    rows: list[tuple[str, str]] = []
    for label in sorted(INTENTS):
        templates = INTENTS[label]
        seen: set[str] = set()
        attempts = 0
        while len(seen) < per_intent and attempts < per_intent * 50:
            attempts += 1
            text = _style(_fill(rng.choice(templates), rng), rng)
            if text not in seen:
                seen.add(text)
                rows.append((text, label))
    rng.shuffle(rows)
    return [t for t, _ in rows], [label for _, label in rows]


def write_csv(path: str | Path, seed: int = 7, per_intent: int = 220) -> int:
    """Write the data set as a ``text,label`` CSV file; returns the number of rows."""
    texts, labels = generate(seed, per_intent)
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(zip(texts, labels, strict=True))
    return len(texts)


def main() -> None:
    """``python -m bench.intents_data --out FILE.csv``: write the data set."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="the CSV file to write")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--per-intent", type=int, default=220)
    args = parser.parse_args()
    n = write_csv(args.out, args.seed, args.per_intent)
    print(f"{args.out}: {n} rows, {len(INTENTS)} intents")


if __name__ == "__main__":
    main()
