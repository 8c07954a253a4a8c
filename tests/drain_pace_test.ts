/**
 * The drain's pace: backlog attempts are held to a rate only while payments are being made;
 * without payments, and with a rate of 0, nothing is held.
 */

import assert from "node:assert/strict";
import { DrainPace } from "../core/delivery/drain_pace.ts";

Deno.test("drain pace: no payments, no pacing; payments, the rate; a second after the last, none again", () => {
  const pace = new DrainPace(100);
  for (let i = 0; i < 1000; i++) assert.equal(pace.take(1000), 0, "no payment yet: flat out");
  pace.paymentSeen(10_000);
  // A burst of a twentieth of a second's worth (5 here), then one every 10 ms.
  let started = 0;
  let t = 10_000;
  while (t < 11_000) {
    const wait = pace.take(t);
    if (wait === 0) started++;
    else t += wait;
  }
  assert.ok(started >= 95 && started <= 106, `about 100 in the busy second, got ${started}`);
  assert.equal(pace.take(11_001), 0, "a second after the last payment: not paced");
  assert.equal(new DrainPace(0).take(0), 0);
});

Deno.test("drain pace: the wait names when the next token comes", () => {
  const pace = new DrainPace(20); // burst 1, then one every 50 ms
  pace.paymentSeen(0);
  assert.equal(pace.take(0), 50, "the bucket starts empty while busy");
  assert.equal(pace.take(50), 0);
  assert.equal(pace.take(60), 40);
});
