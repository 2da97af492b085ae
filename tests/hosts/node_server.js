// A small Node.js http server for tests: a plain route, a chunked route,
// a 500 and a 404. It exits cleanly on SIGTERM so exit handlers run.
const http = require('http');
const port = parseInt(process.argv[2], 10);
const server = http.createServer((req, res) => {
  if (req.url.startsWith('/hello')) {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '6' });
    res.end('hello\n');
  } else if (req.url.startsWith('/chunked')) {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.write('one\n');
    setTimeout(() => { res.write('two\n'); res.end(); }, 10);
  } else if (req.url.startsWith('/fail')) {
    res.writeHead(500, { 'Content-Length': '0' });
    res.end();
  } else {
    res.writeHead(404, { 'Content-Length': '0' });
    res.end();
  }
});
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
