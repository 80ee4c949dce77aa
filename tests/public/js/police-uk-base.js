// Point a police.uk client that hard-codes https://data.police.uk at another base URL,
// without editing the client: load this first (`node --require ./police-uk-base.js`, or
// NODE_OPTIONS="--require /path/to/police-uk-base.js") with POLICE_UK_BASE_URL set, e.g.
// POLICE_UK_BASE_URL=http://127.0.0.1:8000. Requests for data.police.uk then go to that base
// (its path prefixed), as a hosts-file entry plus a reverse proxy would send them; requests for
// any other host are untouched. Used by crimegeo's tests to run `ukpd` against crimegeo.
'use strict'

const http = require('http')
const https = require('https')

const POLICE_UK_HOST = 'data.police.uk'
const base = process.env.POLICE_UK_BASE_URL
if (!base) {
  throw new Error('police-uk-base.js: set POLICE_UK_BASE_URL, e.g. http://127.0.0.1:8000')
}
const target = new URL(base)
const prefix = target.pathname.replace(/\/$/, '')

function redirected (options) {
  const parsed = typeof options === 'string' || options instanceof URL ? new URL(options) : null
  const host = parsed ? parsed.hostname : (options.hostname || options.host || '').split(':')[0]
  if (host !== POLICE_UK_HOST) return null
  const path = parsed ? parsed.pathname + parsed.search : (options.path || '/')
  const moved = Object.assign({}, parsed ? {} : options, {
    protocol: target.protocol,
    hostname: target.hostname,
    host: target.hostname,
    port: target.port || (target.protocol === 'https:' ? 443 : 80),
    path: prefix + path
  })
  delete moved.agent // an https agent cannot carry a plain http request
  return moved
}

for (const module of [https, http]) {
  for (const name of ['request', 'get']) {
    const original = module[name]
    module[name] = function (options, ...rest) {
      const moved = redirected(options)
      if (moved === null) return original.call(this, options, ...rest)
      const transport = target.protocol === 'https:' ? https : http
      return (name === 'get' ? transport._policeUkGet : transport._policeUkRequest)
        .call(transport, moved, ...rest)
    }
    module[name === 'get' ? '_policeUkGet' : '_policeUkRequest'] = original
  }
}
