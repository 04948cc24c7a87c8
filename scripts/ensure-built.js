#!/usr/bin/env node
// Runs before `npm start` and `npm test`: on a fresh clone it installs the packages
// (which builds the addon); afterwards it rebuilds the addon only when a C source is
// newer than it. Plain Node, no dependencies, so it works before anything is installed.
'use strict';
const { execSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const addon = path.join(root, 'build', 'Release', 'qie.node');
const run = (cmd) => execSync(cmd, { cwd: root, stdio: 'inherit' });

function newestSource(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (/\.(c|h)$/.test(entry.name)) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

if (!fs.existsSync(path.join(root, 'node_modules', '.package-lock.json'))) {
  console.log('qie: first run: installing packages and building the addon (npm install)');
  run('npm install --no-audit --no-fund');
} else if (!fs.existsSync(addon)) {
  run('npx node-gyp rebuild');
} else if (newestSource(path.join(root, 'csrc')) > fs.statSync(addon).mtimeMs) {
  // rebuild, not build: the source list is read when the project is configured
  console.log('qie: C sources changed: rebuilding the addon');
  run('npx node-gyp rebuild');
}
