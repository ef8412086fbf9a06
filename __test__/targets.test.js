'use strict';

// The engine's target resolution (each folder parsed once per call) must give
// exactly what parsing each file URL with Node's URL gives: the payload keys
// of every file event depend on it.

const path = require('path');
const native = require('../binding');
const UploadError = require('../lib/upload-error');
const { checkUrl } = require('../lib/validate');

function safeDecode(text) {
  try {
    return decodeURIComponent(text);
  } catch (err) {
    return text;
  }
}

/** Node's reading of a file URL: its decoded target path, folder and name. */
function targetOfUrl(fileUrl) {
  const url = checkUrl(fileUrl, 'fileUrl');
  const targetFile = safeDecode(url.pathname);
  return { fileUrl, targetFile, targetFolder: path.posix.dirname(targetFile), fileName: path.posix.basename(targetFile) };
}

/**
 * The engine's targets of `urls`, resolved in one call (so that a folder
 * seen before is memoised), handed out in order as `targetOfUrl` gives them.
 */
function targetResolver(urls) {
  const resolved = JSON.parse(native.resolveTargets(JSON.stringify(urls)).describe());
  let next = 0;
  return (fileUrl) => {
    const target = resolved[next];
    next += 1;
    if (!Array.isArray(target)) throw UploadError.fromNative(target);
    const [targetFile, targetFolder, fileName] = target;
    return { fileUrl, targetFile, targetFolder, fileName };
  };
}

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
    const resolve = targetResolver(URLS.flatMap((url) => [url, url]));
    for (const url of URLS) {
      const expected = outcome(targetOfUrl, url);
      expect([url, outcome(resolve, url)]).toEqual([url, expected]);
      expect([url, outcome(resolve, url)]).toEqual([url, expected]);
    }
  });

  test('files of one folder share the folder parse', () => {
    const names = ['a.jpg', 'b%20c.jpg', '%E2%82%AC.png', 'x%2Fy.txt', '..'];
    const urls = names.map((name) => `http://localhost:4502/content/dam/my%20folder/${name}`);
    const resolve = targetResolver(urls);
    for (const url of urls) {
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
      // As a tree plan builds them: the folder's encoded path, then the name.
      const fileUrls = folders.flatMap((folder) => names.map((name) => `${prefix}${encode(folder)}/${encodeURIComponent(name)}`));
      const targetOf = targetResolver(fileUrls);
      for (const fileUrl of fileUrls) {
        const planned = outcome(targetOf, fileUrl);
        if (planned.error) {
          expect([fileUrl, planned]).toEqual([fileUrl, outcome(targetOfUrl, fileUrl)]);
          continue;
        }
        known += 1;
        expect([fileUrl, planned]).toEqual([fileUrl, targetOfUrl(fileUrl)]);
      }
    }
    expect(known).toBeGreaterThan(50);
  });
});
