package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/oauth2"
)

// The token file.
const (
	tokenFileName     = "token.json"
	tokenReuseMargin  = time.Minute
	maxTokenFileBytes = 1 << 20
)

// savedToken is the token file: the token and what it was obtained for.
type savedToken struct {
	Issuer       string    `json:"issuer_base_url"`
	Audience     string    `json:"audience"`
	ClientID     string    `json:"client_id"`
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
	Scope        string    `json:"scope,omitempty"`
}

func (s *savedToken) matches(c loginConfig) bool {
	return s.Issuer == c.IssuerBaseURL && s.Audience == c.Audience && s.ClientID == c.ClientID
}

// valid reports whether the access token is usable for at least
// tokenReuseMargin more.
func (s *savedToken) valid(now time.Time) bool {
	return s.AccessToken != "" && !s.Expiry.IsZero() && now.Add(tokenReuseMargin).Before(s.Expiry)
}

func (s *savedToken) token() *oauth2.Token {
	return &oauth2.Token{AccessToken: s.AccessToken, TokenType: s.TokenType, RefreshToken: s.RefreshToken, Expiry: s.Expiry}
}

// readSavedToken reads the token file; a missing file gives nil, nil.
func readSavedToken(path string) (*savedToken, error) {
	b, err := readSmallFile(path, maxTokenFileBytes)
	if err != nil || b == nil {
		return nil, err
	}
	var s savedToken
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}

// save writes tok to the token file, mode 0600, atomically. A refresh
// that returned no new refresh token keeps the old one.
func (l *login) save(tok *oauth2.Token) error {
	s := savedToken{
		Issuer:       l.cfg.IssuerBaseURL,
		Audience:     l.cfg.Audience,
		ClientID:     l.cfg.ClientID,
		AccessToken:  tok.AccessToken,
		TokenType:    tok.TokenType,
		RefreshToken: tok.RefreshToken,
		Expiry:       tok.Expiry,
	}
	if sc, ok := tok.Extra("scope").(string); ok {
		s.Scope = sc
	}
	if s.RefreshToken == "" {
		if old, err := readSavedToken(l.cfg.TokenFile); err == nil && old != nil && old.matches(l.cfg) {
			s.RefreshToken = old.RefreshToken
		}
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(l.cfg.TokenFile, append(b, '\n'), 0o600)
}

// writeFileAtomic writes b to path through a temporary file in the same
// directory (created 0700 when missing), with the given mode.
func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".token-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
