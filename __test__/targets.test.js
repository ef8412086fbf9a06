'use strict';

// The per-folder target resolver must give exactly what parsing each file URL
// with Node's URL gives (the payload keys of every file event depend on it).

const { targetOfUrl, targetResolver } = require('../lib/targets');

const URLS = [
  'http://h', 'http://h/', 'http://h/a', 'http://h/a/b%2Fc', 'http://h/a/%2e', 'http://h/a/%2E%2e',
  'http://h/a/..', 'http://h/a/.x', 'http://h/a/b%zz', 'http://h/a?x=/b', 'http://h/a#/b', 'http://h/a/%25',
  'http://h:80/A%20B/c', 'https://h/x/y/%E2%82%AC', 'http://h/a\\b/c', 'http://h/a/b/./c', 'http://h/a/b/../c',
  'ftp://h/a/b', 'http:/a', 'http:a', 'http://h//x', 'http://h/a/%C3', 'http://h/a%C3/b', 'http://u:p@h/a/b',
  ' http://h/a/b', 'http://h/a/b ', 'http://h/a\t/b', 'http://h/%2e%2e/b', 'http://h/content/dam/f/a%20b.jpg',
  "http://h/content/dam/f/it's(1)!~*.png", 'http://h/content/dam/%E2%82%AC/x.bin',
];

function outcome(fn, url) {
  try {
    return fn(url);
  } catch (err) {
    return { error: err.message, code: err.code };
  }
}

describe('target resolver', () => {
  test('matches URL parsing for every URL, first sight and memoised', () => {
    const resolve = targetResolver();
    for (const url of URLS) {
      const expected = outcome(targetOfUrl, url);
      expect([url, outcome(resolve, url)]).toEqual([url, expected]);
      expect([url, outcome(resolve, url)]).toEqual([url, expected]);
    }
  });

  test('files of one folder share the folder parse', () => {
    const resolve = targetResolver();
    const names = ['a.jpg', 'b%20c.jpg', '%E2%82%AC.png', 'x%2Fy.txt', '..'];
    for (const name of names) {
      const url = `http://localhost:4502/content/dam/my%20folder/${name}`;
      expect(resolve(url)).toEqual(targetOfUrl(url));
    }
  });
});
