// The official PocketBase JavaScript SDK, unmodified (no beforeSend hook), against a running shop.
//
// Run by tests/test_sdk_js.py: node journey.mjs <base url>. Each scenario prints one line
// `RESULT {"name", "ok", "detail"}`. A scenario that needs a mailed token prints
// `MAIL {"to", "subject"}` and reads the token from the next line of stdin (the test looks it up in
// the shop's outbox).
import readline from "node:readline";
import PocketBase from "pocketbase";

const baseUrl = process.argv[2];
const input = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const PASSWORD = "a long enough passphrase";
const CONTACT = {
    email: "jane@example.com",
    fullName: "Jane Shopper",
    address: "1 Main Street",
    city: "Springfield",
    postalCode: "12345",
    country: "United States",
};
let counter = 0;

function unique(prefix) {
    counter += 1;
    return `${prefix}-${Date.now()}-${counter}@example.com`;
}

function check(condition, message) {
    if (!condition) {
        throw new Error(message);
    }
}

function payload(token) {
    return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
}

async function mailedToken(to, subject) {
    console.log("MAIL " + JSON.stringify({ to, subject }));
    const line = await input.next();
    return line.value.trim();
}

// The call must fail with `status`; returns the error's response body (PocketBase's error JSON).
async function fails(status, call) {
    try {
        await call();
    } catch (error) {
        check(error.status === status, `expected ${status}, got ${error.status}: ${JSON.stringify(error.response)}`);
        const body = error.response;
        check(typeof body.message === "string" && body.message, "an error has a message");
        check(body.data && typeof body.data === "object" && !Array.isArray(body.data), "data is an object");
        return body;
    }
    throw new Error(`expected ${status}, but the call succeeded`);
}

function fieldCode(body, field) {
    check(body.data[field], `data.${field} is missing in ${JSON.stringify(body)}`);
    return body.data[field].code;
}

// An anonymous sign-in: not a PocketBase endpoint, so it goes through pb.send, and the SDK's own
// auth store keeps the answer.
async function signInAnonymously(pb, collection) {
    const auth = await pb.send(`/api/collections/${collection}/auth-anonymous`, { method: "POST" });
    pb.authStore.save(auth.token, auth.record);
    return auth;
}

async function firstProducts(pb) {
    const list = await pb.collection("products").getList(1, 50, { sort: "name" });
    return list.items;
}

const scenarios = {
    async health() {
        const health = await new PocketBase(baseUrl).health.check();
        check(health.message === "API is healthy." && health.code === 200, JSON.stringify(health));
        check(JSON.stringify(health.data) === "{}", "data is an empty object");
    },

    async "anonymous sign-in, token claims and auth-refresh with the bare token"() {
        const pb = new PocketBase(baseUrl);
        const auth = await signInAnonymously(pb, "customers");
        check(pb.authStore.isValid, "the SDK finds the token valid (exp claim)");
        const claims = payload(auth.token);
        check(claims.id === auth.record.id, "claim id");
        check(claims.collectionId === auth.record.collectionId, "claim collectionId");
        check(claims.type === "auth" && claims.refreshable === true && claims.exp > Date.now() / 1000, "claims");
        const record = auth.record;
        check(record.collectionName === "customers" && record.isAnonymous === true, "record");
        check(record.emailVisibility === false && record.verified === false, "record flags");
        check(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z$/.test(record.created), `created: ${record.created}`);
        const refreshed = await pb.collection("customers").authRefresh();
        check(refreshed.record.id === record.id && refreshed.token !== auth.token, "refresh gives a new token");
        check(pb.authStore.token === refreshed.token, "the SDK keeps the new token");
    },

    async "auth-refresh with a token of another collection is 403"() {
        const pb = new PocketBase(baseUrl);
        await signInAnonymously(pb, "users");
        await fails(403, () => pb.collection("customers").authRefresh());
        pb.authStore.save("not-a-token", null);
        await fails(401, () => pb.collection("users").authRefresh());
    },

    async "products: page, perPage, sort, filter, fields, getOne, getFirstListItem, getFullList"() {
        const pb = new PocketBase(baseUrl);
        const page = await pb.collection("products").getList(1, 3, { sort: "-priceCents,name" });
        check(page.page === 1 && page.perPage === 3 && page.items.length === 3, JSON.stringify(page));
        check(page.totalItems >= 8 && page.totalPages === Math.ceil(page.totalItems / 3), "totals");
        const prices = page.items.map((item) => item.priceCents);
        check(prices[0] >= prices[1] && prices[1] >= prices[2], "sorted by price, descending");
        const cheap = await pb.collection("products").getList(1, 50, {
            filter: pb.filter("priceCents < {:max} && name ~ {:part}", { max: 2000, part: "o" }),
        });
        check(cheap.items.length > 0, "the filter finds something");
        check(cheap.items.every((item) => item.priceCents < 2000 && item.name.toLowerCase().includes("o")), "filter");
        const trimmed = await pb.collection("products").getList(1, 2, { fields: "id,name" });
        check(trimmed.items.every((item) => Object.keys(item).sort().join() === "id,name"), "fields");
        const one = await pb.collection("products").getOne(page.items[0].id);
        check(one.name === page.items[0].name && one.collectionName === "products", "getOne");
        const mug = await pb.collection("products").getFirstListItem(pb.filter("slug = {:slug}", { slug: "ceramic-mug" }));
        check(mug.slug === "ceramic-mug", "getFirstListItem");
        const all = await pb.collection("products").getFullList({ batch: 3, sort: "name" });
        check(all.length === page.totalItems, `getFullList: ${all.length} of ${page.totalItems}`);
        await fails(404, () => pb.collection("products").getOne("999999"));
        const bad = await fails(400, () => pb.collection("products").getList(1, 5, { filter: "password = 'x'" }));
        check(bad.message.startsWith("Invalid filter"), bad.message);
    },

    async "the whole headless journey: guest cart, checkout, upgrade, sign in again"() {
        const pb = new PocketBase(baseUrl);
        const guest = await signInAnonymously(pb, "customers");
        const [first, second] = await firstProducts(pb);
        const line = await pb.collection("cart_items").create({ product: first.id, quantity: 2 });
        check(line.quantity === 2 && line.product === first.id && line.owner === guest.record.id, "create");
        await pb.collection("cart_items").create({ product: second.id });
        const again = await pb.collection("cart_items").create({ product: first.id, quantity: 1 });
        check(again.id === line.id && again.quantity === 3, "adding the same product raises its line");
        const updated = await pb.collection("cart_items").update(line.id, { quantity: 1 });
        check(updated.quantity === 1, "update");
        const cart = await pb.collection("cart_items").getFullList({ expand: "product" });
        check(cart.length === 2 && cart[0].expand.product.id === first.id, "list with expand");
        const secondLine = cart.find((item) => item.product === second.id);
        await pb.collection("cart_items").delete(secondLine.id);
        check((await pb.collection("cart_items").getFullList()).length === 1, "delete");

        const key = `checkout-${guest.record.id}-${Date.now()}`;
        const checkout = () =>
            pb.send("/api/checkout", { method: "POST", body: CONTACT, headers: { "Idempotency-Key": key } });
        const order = await checkout();
        check(order.collectionName === "orders" && order.totalCents === first.priceCents, JSON.stringify(order));
        check(order.lines.length === 1 && order.lines[0].quantity === 1, "order lines");
        const repeated = await checkout();
        check(repeated.id === order.id, "the same Idempotency-Key gives the same order");
        check((await pb.collection("cart_items").getFullList()).length === 0, "the cart is emptied");
        const orders = await pb.collection("orders").getList(1, 10);
        check(orders.totalItems === 1 && orders.items[0].id === order.id, "orders list");
        check((await pb.collection("orders").getOne(order.id)).number === order.number, "orders getOne");
        const empty = await fails(400, () =>
            pb.send("/api/checkout", { method: "POST", body: CONTACT, headers: { "Idempotency-Key": key + "-2" } }),
        );
        check(empty.message === "Your cart is empty.", "a new key with an empty cart places nothing");

        // Upgrade: PATCH the guest's own record with an email and a password, then sign in with them.
        const email = unique("upgraded");
        const upgraded = await pb.collection("customers").update(guest.record.id, {
            email, password: PASSWORD, passwordConfirm: PASSWORD,
        });
        check(upgraded.isAnonymous === false && upgraded.email === email && upgraded.id === guest.record.id, "upgrade");
        check(pb.authStore.record.email === email, "the SDK updates its stored record");
        await fails(401, () => pb.collection("customers").authRefresh()); // the guest's token died
        const signedIn = await pb.collection("customers").authWithPassword(email, PASSWORD);
        check(signedIn.record.id === guest.record.id, "the same record, now with a password");
        const kept = await pb.collection("orders").getFullList();
        check(kept.length === 1 && kept[0].id === order.id, "the order stays with the account");
    },

    async "bad input: wrong types, unknown fields, out-of-range quantities, someone else's ids"() {
        const pb = new PocketBase(baseUrl);
        await signInAnonymously(pb, "users");
        const products = await firstProducts(pb);
        const product = products[0];
        const scarce = products.find((item) => item.slug === "desk-plant");
        const line = await pb.collection("cart_items").create({ product: product.id, quantity: 1 });
        const cases = [
            [{ product: product.id, quantity: "two" }, "quantity", "validation_only_int_constraint"],
            [{ product: product.id, quantity: 1.5 }, "quantity", "validation_only_int_constraint"],
            [{ product: product.id, quantity: true }, "quantity", "validation_only_int_constraint"],
            [{ product: product.id, quantity: 0 }, "quantity", "validation_invalid_value"],
            [{ product: product.id, quantity: -3 }, "quantity", "validation_invalid_value"],
            [{ product: product.id, quantity: 100 }, "quantity", "validation_invalid_value"],
            [{ product: scarce.id, quantity: scarce.stock + 1 }, "quantity", "validation_invalid_value"],
            [{ product: "999999", quantity: 1 }, "product", "validation_missing_rel_records"],
            [{ product: ["1"], quantity: 1 }, "product", "validation_missing_rel_records"],
            [{ quantity: 1 }, "product", "validation_required"],
            [{ product: product.id, quantity: 1, colour: "red" }, "colour", "validation_unknown_field"],
        ];
        for (const [body, field, code] of cases) {
            const error = await fails(400, () => pb.collection("cart_items").create(body));
            check(fieldCode(error, field) === code, `${JSON.stringify(body)}: ${JSON.stringify(error)}`);
        }
        const patch = await fails(400, () => pb.collection("cart_items").update(line.id, { quantity: 1000 }));
        check(fieldCode(patch, "quantity") === "validation_invalid_value", JSON.stringify(patch));
        const cart = await pb.collection("cart_items").getFullList();
        check(cart.length === 1 && cart[0].quantity === 1, `nothing stored: ${JSON.stringify(cart)}`);

        const other = new PocketBase(baseUrl);
        const stranger = await signInAnonymously(other, "users");
        await fails(404, () => other.collection("cart_items").getOne(line.id));
        await fails(404, () => other.collection("cart_items").update(line.id, { quantity: 2 }));
        await fails(404, () => other.collection("cart_items").delete(line.id));
        await fails(404, () => pb.collection("users").getOne(stranger.record.id));
        await fails(404, () => pb.collection("users").update(stranger.record.id, { email: unique("x") }));
        check((await pb.collection("cart_items").getOne(line.id)).quantity === 1, "the line is untouched");

        const checkout = await fails(400, () =>
            pb.send("/api/checkout", {
                method: "POST",
                body: { ...CONTACT, email: "not an email", fullName: 42 },
                headers: { "Idempotency-Key": "a-key-long-enough-1" },
            }),
        );
        check(fieldCode(checkout, "fullName") === "validation_invalid_value", JSON.stringify(checkout));
        const noKey = await fails(400, () => pb.send("/api/checkout", { method: "POST", body: CONTACT }));
        check(noKey.message.includes("Idempotency-Key"), noKey.message);
        check((await pb.collection("orders").getFullList()).length === 0, "no order was placed");
        pb.authStore.clear();
        await fails(401, () => pb.collection("cart_items").getList(1, 10));
    },

    async "create an account, then sign in; errors name the field with PocketBase's codes"() {
        const pb = new PocketBase(baseUrl);
        const email = unique("new");
        const record = await pb.collection("users").create({ email, password: PASSWORD, passwordConfirm: PASSWORD });
        check(record.email === email && record.isAnonymous === false && record.verified === false, "create");
        const auth = await pb.collection("users").authWithPassword(email, PASSWORD);
        check(auth.record.id === record.id, "sign in");
        check((await pb.collection("users").getOne(record.id)).id === record.id, "view own record");
        const taken = await fails(400, () =>
            pb.collection("customers").create({ email, password: PASSWORD, passwordConfirm: PASSWORD }),
        );
        check(fieldCode(taken, "email") === "validation_not_unique", "one email, one account");
        const mismatch = await fails(400, () =>
            pb.collection("users").create({ email: unique("m"), password: PASSWORD, passwordConfirm: "other" }),
        );
        check(fieldCode(mismatch, "passwordConfirm") === "validation_values_mismatch", "mismatch");
        const blank = await fails(400, () => pb.collection("users").create({}));
        check(fieldCode(blank, "email") === "validation_required", "required");
        const wrong = await fails(400, () => pb.collection("users").authWithPassword(email, "wrong password"));
        const unknown = await fails(400, () => pb.collection("users").authWithPassword(unique("nobody"), "x"));
        check(wrong.message === "Failed to authenticate." && JSON.stringify(wrong) === JSON.stringify(unknown), "same");
        const changed = await pb.collection("users").update(record.id, {
            oldPassword: PASSWORD, password: PASSWORD + "!", passwordConfirm: PASSWORD + "!",
        });
        check(changed.id === record.id, "password change");
        await fails(404, () => pb.collection("users").getOne(record.id)); // every older token died
        await pb.collection("users").authWithPassword(email, PASSWORD + "!");
        const old = await fails(400, () =>
            pb.collection("users").update(record.id, { oldPassword: "nope", password: "x", passwordConfirm: "x" }),
        );
        check(fieldCode(old, "oldPassword") === "validation_invalid_old_password", JSON.stringify(old));
    },

    async "verification by mail"() {
        const pb = new PocketBase(baseUrl);
        const email = unique("verify");
        await pb.collection("users").create({ email, password: PASSWORD, passwordConfirm: PASSWORD });
        await pb.collection("users").authWithPassword(email, PASSWORD);
        check(await pb.collection("users").requestVerification(email), "request");
        check(await pb.collection("users").requestVerification(unique("nobody")), "no enumeration");
        const token = await mailedToken(email, "Confirm your email address");
        check(await pb.collection("users").confirmVerification(token), "confirm");
        check(pb.authStore.record.verified === true, "the SDK marks its stored record verified");
        check((await pb.collection("users").authRefresh()).record.verified === true, "stored");
        const bad = await fails(400, () => pb.collection("users").confirmVerification("not-a-token"));
        check(fieldCode(bad, "token") === "validation_invalid_token", JSON.stringify(bad));
    },

    async "password reset by mail: single use, older sessions end"() {
        const pb = new PocketBase(baseUrl);
        const email = unique("reset");
        await pb.collection("users").create({ email, password: PASSWORD, passwordConfirm: PASSWORD });
        await pb.collection("users").authWithPassword(email, PASSWORD);
        check(await pb.collection("users").requestPasswordReset(email), "request");
        check(await pb.collection("users").requestPasswordReset(unique("nobody")), "no enumeration");
        const token = await mailedToken(email, "Reset your password");
        const mismatch = await fails(400, () => pb.collection("users").confirmPasswordReset(token, "new passphrase 1", "other"));
        check(fieldCode(mismatch, "passwordConfirm") === "validation_values_mismatch", "mismatch");
        check(await pb.collection("users").confirmPasswordReset(token, "new passphrase 1", "new passphrase 1"), "reset");
        await fails(401, () => pb.collection("users").authRefresh()); // the old session ended
        const reused = await fails(400, () => pb.collection("users").confirmPasswordReset(token, "another one 2", "another one 2"));
        check(fieldCode(reused, "token") === "validation_invalid_token", "single use");
        await fails(400, () => pb.collection("users").authWithPassword(email, PASSWORD));
        const auth = await pb.collection("users").authWithPassword(email, "new passphrase 1");
        check(auth.record.email === email, "the new password works");
    },

    async "fields and expand on every answer"() {
        const pb = new PocketBase(baseUrl);
        const auth = await pb.send("/api/collections/users/auth-anonymous", { method: "POST", query: { fields: "token,record.id" } });
        check(Object.keys(auth).sort().join() === "record,token" && Object.keys(auth.record).join() === "id", JSON.stringify(auth));
        pb.authStore.save(auth.token, auth.record);
        const refreshed = await pb.collection("users").authRefresh({ fields: "*,record.collectionName" });
        check(refreshed.token && Object.keys(refreshed.record).join() === "collectionName", JSON.stringify(refreshed));
        const health = await pb.health.check({ fields: "code" });
        check(JSON.stringify(health) === '{"code":200}', JSON.stringify(health));
    },
};

for (const [name, scenario] of Object.entries(scenarios)) {
    try {
        await scenario();
        console.log("RESULT " + JSON.stringify({ name, ok: true }));
    } catch (error) {
        const detail = error && error.stack ? error.stack : String(error);
        console.log("RESULT " + JSON.stringify({ name, ok: false, detail }));
    }
}
console.log("DONE");
input.return?.();
process.exit(0);
