// @peculiar/x509 resolves its algorithm providers through tsyringe, which needs the Reflect metadata API
// loaded first: every module of the pki takes the library from here so that the order always holds.

import 'reflect-metadata';

export * from '@peculiar/x509';
