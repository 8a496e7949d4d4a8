// `lab impair --loss 100`: a total black hole from A to B (nft's `numgen random mod 100` yields 0-99, so
// `< 100` was refused by nft with "Value 100 exceeds valid range 0-99"); a plain drop rule instead.
import assert from "node:assert/strict";

import { labImpair, NFT_TABLE } from "../../provider/lab";
import { renderNft } from "../../provider/lab/impair";
import { run } from "../../provider/util/exec";
import { createLab, destroyLab, host, type LabInventory } from "../lab-fixture";

const LAB = "x14-loss";
const LINK = "source:destination";

describe("lab impair --loss 100: a total black hole", function () {
  let inv: LabInventory;

  before(async function () {
    inv = await createLab({ name: LAB, hosts: 2, dns: false });
  });
  after(async function () {
    await destroyLab(LAB);
  });

  it("renders a plain drop at 100 and a numgen share below it", function () {
    const total = renderNft(inv, [{ from: "source", to: "destination", lossPercent: 100 }]);
    assert.match(total, /iifname "br1" oifname "br2" drop\n/);
    assert.match(total, /iifname "br1" ip daddr [0-9./]+ drop\n/);
    assert.doesNotMatch(total, /numgen/);
    const part = renderNft(inv, [{ from: "source", to: "destination", lossPercent: 99 }]);
    assert.match(part, /iifname "br1" oifname "br2" numgen random mod 100 < 99 drop\n/);
  });

  it("drops every packet from A to B (a ping either way gets no answer), then --clear restores the path", async function () {
    const list = await labImpair(LAB, { link: LINK, loss: 100 });
    assert.deepEqual(list, [{ from: "source", to: "destination", lossPercent: 100 }]);
    const rules = (await run(["nft", "list", "table", "inet", NFT_TABLE], { netns: inv.router.netns }))
      .stdout;
    assert.match(rules, /iifname "br1" oifname "br2" drop/);
    const [h1, h2] = [host(inv, "h1"), host(inv, "h2")];
    const ping = (from: typeof h1, to: typeof h1) =>
      run(["ping", "-q", "-c", "20", "-i", "0.01", "-W", "1", to.address], {
        netns: from.netns,
        check: false,
      });
    // A → B loses every request; B → A loses every reply (the replies go A → B).
    assert.match((await ping(h1, h2)).stdout, /20 packets transmitted, 0 received, 100% packet loss/);
    assert.match((await ping(h2, h1)).stdout, /20 packets transmitted, 0 received, 100% packet loss/);
    await labImpair(LAB, { link: LINK, clear: true });
    assert.match((await ping(h1, h2)).stdout, /20 packets transmitted, 20 received, 0% packet loss/);
  });
});
