// pgbalance from Node.js: the SQL contract is the API, node-postgres (`pg`) is the only
// dependency. Opens accounts, transfers, replays, overdraws, and buys from a wallet; every
// refusal is handled by its SQLSTATE, never by its message text.
//
//   npm ci && node demo.js [connection string]
//
// The connection string defaults to DATABASE_URL, then to libpq's PG* variables. Connect as
// a role granted pgbalance_app: it executes the functions and has no privilege on any table.
// Each run uses a tenant of its own, so the demo runs again on a used database. Exit status
// 0 when every call behaved as the contract says, 1 otherwise.
'use strict';

const { Client, types } = require('pg');

// Money is bigint in minor units: read int8 as BigInt, never as a lossy Number.
types.setTypeParser(types.builtins.INT8, (text) => BigInt(text));

// The SQLSTATEs of the contract (docs/contract.md, "Errors").
const SQLSTATE = {
  PB001: 'insufficient_funds',
  PB002: 'limit_exceeded',
  PB003: 'idempotency_conflict',
  PB004: 'invalid_state',
  PB005: 'not_found',
  PB006: 'currency_mismatch',
  PB007: 'account_closed',
  PB008: 'duplicate_pending',
  PB009: 'ledger_immutable',
  22023: 'invalid_parameter_value',
  25000: 'invalid_transaction_state',
  42501: 'insufficient_privilege',
};

// DETAIL is key=value pairs with the numbers involved: `available=7500 requested=50000`.
function parseDetail(detail) {
  const fields = {};
  for (const pair of (detail || '').split(' ')) {
    const at = pair.indexOf('=');
    if (at > 0) fields[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return fields;
}

// One contract call: `SELECT * FROM schema.fn(p_name => $1, ...)`. Named arguments keep
// calls readable and immune to parameter order; JSON arguments are passed as JSON text
// (node-postgres would turn a JS array into a PostgreSQL array).
async function call(db, fn, args) {
  const names = Object.keys(args);
  const params = names.map((name, i) => `${name} => $${i + 1}`).join(', ');
  const values = names.map((name) => {
    const v = args[name];
    return v !== null && typeof v === 'object' ? JSON.stringify(v) : v;
  });
  const result = await db.query(`SELECT * FROM ${fn}(${params})`, values);
  return result.rows;
}

// The call's SQLSTATE if the contract refused it with one of its codes; anything else
// (a lost connection, a bug) is rethrown.
async function refusal(promise) {
  try {
    await promise;
    return null;
  } catch (err) {
    if (err.code in SQLSTATE) return err;
    throw err;
  }
}

let failures = 0;
function expect(what, ok) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures += 1;
}

async function main() {
  const db = new Client({ connectionString: process.argv[2] || process.env.DATABASE_URL });
  await db.connect();
  const tenant = `node-demo-${process.pid}-${Date.now()}`;
  try {
    const { rows: [who] } = await db.query('SELECT current_user AS role');
    console.log(`connected as ${who.role}, tenant ${tenant}`);
    // Accounts: a bank account without a floor to fund from, two customers floored at 0.
    await call(db, 'ledger.open_account',
      { p_tenant: tenant, p_code: 'bank', p_currency: 'EUR', p_min_balance: null });
    for (const code of ['alice', 'bob']) {
      const [acct] = await call(db, 'ledger.open_account',
        { p_tenant: tenant, p_code: code, p_currency: 'EUR' });
      expect(`open ${acct.code}: ${acct.currency}, balance ${acct.balance}`, acct.balance === 0n);
    }

    // Transfers, each idempotent by its key.
    await call(db, 'ledger.transfer',
      { p_tenant: tenant, p_key: 'fund-alice', p_from: 'bank', p_to: 'alice', p_amount: 10000n });
    const pay = { p_tenant: tenant, p_key: 'invoice-17', p_from: 'alice', p_to: 'bob',
      p_amount: 2500n, p_metadata: { invoice: 17 } };
    const [first] = await call(db, 'ledger.transfer', pay);
    expect(`transfer invoice-17: entry ${first.entry_id} ${first.status}`,
      first.status === 'posted' && !first.replayed);

    // The client timed out and retries: the same key and parameters move nothing again.
    const [retry] = await call(db, 'ledger.transfer', pay);
    expect(`retry invoice-17: same entry ${retry.entry_id}, replayed=${retry.replayed}`,
      retry.replayed && retry.entry_id === first.entry_id);

    // The same key with another amount is a conflict, not a second payment.
    const conflict = await refusal(call(db, 'ledger.transfer', { ...pay, p_amount: 2600n }));
    expect(`invoice-17 with another amount: ${conflict && conflict.code} `
      + `${conflict && SQLSTATE[conflict.code]}`, conflict !== null && conflict.code === 'PB003');

    // Overdraw: refused with the numbers in DETAIL, and nothing is written.
    const overdraft = await refusal(call(db, 'ledger.transfer',
      { p_tenant: tenant, p_key: 'too-much', p_from: 'alice', p_to: 'bob', p_amount: 50000n }));
    const detail = parseDetail(overdraft && overdraft.detail);
    expect(`overdraw alice: ${overdraft && overdraft.code} ${overdraft && SQLSTATE[overdraft.code]}`
      + ` (available=${detail.available} requested=${detail.requested})`,
    overdraft !== null && overdraft.code === 'PB001' && detail.available === '7500');

    // Bad input is 22023 before anything else.
    const bad = await refusal(call(db, 'ledger.transfer',
      { p_tenant: tenant, p_key: 'zero', p_from: 'alice', p_to: 'bob', p_amount: 0n }));
    expect(`transfer of 0: ${bad && bad.code} ${bad && SQLSTATE[bad.code]}`,
      bad !== null && bad.code === '22023');

    const [alice] = await call(db, 'ledger.get_account', { p_tenant: tenant, p_code: 'alice' });
    const [bob] = await call(db, 'ledger.get_account', { p_tenant: tenant, p_code: 'bob' });
    expect(`balances: alice ${alice.balance}, bob ${bob.balance}`,
      alice.balance === 7500n && bob.balance === 2500n);

    // A wallet: top up, buy, and a purchase it cannot pay.
    await call(db, 'wallet.open', { p_tenant: tenant, p_user: 'carol', p_currency: 'EUR' });
    await call(db, 'wallet.topup',
      { p_tenant: tenant, p_user: 'carol', p_amount: 3000n, p_reference: 'topup-1' });
    const [order] = await call(db, 'wallet.purchase', { p_tenant: tenant, p_user: 'carol',
      p_amount: 1800n, p_reference: 'order-1', p_items: [{ sku: 'A-1', qty: 2 }] });
    expect(`purchase order-1: ${order.amount} ${order.status}`, order.status === 'completed');
    const broke = await refusal(call(db, 'wallet.purchase',
      { p_tenant: tenant, p_user: 'carol', p_amount: 5000n, p_reference: 'order-2' }));
    expect(`purchase order-2 of 5000: ${broke && broke.code} ${broke && SQLSTATE[broke.code]}`,
      broke !== null && broke.code === 'PB001');
    const [wallet] = await call(db, 'wallet.balance', { p_tenant: tenant, p_user: 'carol' });
    expect(`wallet carol: balance ${wallet.balance}`, wallet.balance === 1200n);
  } finally {
    await db.end();
  }
  console.log(failures === 0 ? 'all calls behaved as the contract says'
    : `${failures} call(s) did not behave as the contract says`);
  return failures === 0 ? 0 : 1;
}

main().then((code) => { process.exitCode = code; }, (err) => {
  console.error(`error: ${err.code ? `${err.code} ` : ''}${err.message}`);
  process.exitCode = 1;
});
