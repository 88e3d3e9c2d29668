// Sends calls to idgraph's tracking API with the official Segment SDK for
// Node (@segment/analytics-node), its host pointed at the server. Run by
// httpapi's TestSegmentNodeSDK with IDGRAPH_HOST and IDGRAPH_WRITE_KEY set;
// prints what went wrong and exits 1 if any call was not delivered.
import { Analytics } from '@segment/analytics-node'

const host = process.env.IDGRAPH_HOST
const writeKey = process.env.IDGRAPH_WRITE_KEY
if (!host || !writeKey) {
  console.error('set IDGRAPH_HOST and IDGRAPH_WRITE_KEY')
  process.exit(2)
}

const failures = []

function client(flushAt) {
  const a = new Analytics({ writeKey, host, flushAt, flushInterval: 60000, maxRetries: 3, httpRequestTimeout: 60000 })
  a.on('error', (err) => failures.push(String(err?.reason ?? err?.message ?? JSON.stringify(err))))
  return a
}

// delivered resolves once the SDK reports the call delivered (or failed).
function delivered(send) {
  return new Promise((resolve) => {
    send((err) => {
      if (err) failures.push(String(err?.reason ?? err?.message ?? err))
      resolve()
    })
  })
}

// One call a request, in order: identify, track, page, alias.
const one = client(1)
await delivered((cb) => one.identify({ userId: 'sdk-user-1', anonymousId: 'sdk-anon-1', traits: { email: 'Sdk.Ann@Example.com', plan: 'pro' } }, cb))
await delivered((cb) => one.track({ userId: 'sdk-user-1', event: 'Order Completed', properties: { total: 42, currency: 'EUR' } }, cb))
await delivered((cb) => one.page({ anonymousId: 'sdk-anon-1', category: 'Docs', name: 'Pricing', properties: { url: 'https://shop.example/pricing' } }, cb))
await delivered((cb) => one.alias({ userId: 'sdk-user-1', previousId: 'sdk-old-anon' }, cb))
await one.closeAndFlush({ timeout: 60000 })

// A batch: five calls in one request. The test makes the server answer
// its first try with a 500 after committing it; the SDK retries, and
// messageId keeps the retry from counting twice.
const batch = client(5)
const sent = []
for (let i = 0; i < 5; i++) {
  sent.push(delivered((cb) => batch.track({ userId: 'sdk-user-2', event: 'Product Viewed', properties: { sku: `SKU-${i}` } }, cb)))
}
await Promise.all(sent)
await batch.closeAndFlush({ timeout: 60000 })

if (failures.length > 0) {
  console.error(JSON.stringify({ failures }))
  process.exit(1)
}
console.log('delivered')
