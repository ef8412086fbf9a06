'use strict';

// The per-folder target resolver must give exactly what parsing each file URL
// with Node's URL gives (the payload keys of every file event depend on it).

const { targetOfUrl, targetResolver, plannedTargets } = require('../lib/targets');

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

  test('targets known from a folder path and a name are those URL parsing gives', () => {
    const prefixes = ['http://h:4502', 'https://h', 'ftp://h', 'http:/'];
    const folders = ['/content/dam/x', '/content/dam/my folder', '/content/dam/€/a', '/content/dam/a/./b',
      '/content/dam/a/../b', '/content/dam/%2e', '/content/dam/a?b', '/content/dam/a#b', '/content/dam//c'];
    const names = ['a.jpg', 'a b.jpg', '€.png', "it's(1)!~*.png", '%', '%2e', '.', '..', '...', 'x/y', 'x\\y', '', 'a?b', 'a#b'];
    const encode = (p) => p.split('/').map((s) => encodeURIComponent(s)).join('/');
    let known = 0;
    for (const prefix of prefixes) {
      const targetOf = plannedTargets();
      for (const folder of folders) {
        for (const name of names) {
          const folderUrl = `${prefix}${encode(folder)}/`;
          const fileUrl = `${folderUrl}${encodeURIComponent(name)}`;
          const planned = targetOf(folder, folderUrl, name, fileUrl);
          if (planned === null) continue; // resolved from its URL instead
          known += 1;
          expect([fileUrl, planned]).toEqual([fileUrl, targetOfUrl(fileUrl)]);
        }
      }
    }
    expect(known).toBeGreaterThan(50);
  });
});
